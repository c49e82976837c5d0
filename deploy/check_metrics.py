#!/usr/bin/env python3
"""Checks that the PromQL of the Grafana dashboard and the alert rules names
only metrics that exist, and that every dashboard query parses.

Known metrics: the names registered in the Go sources (Name: "iis_..."),
with the _bucket/_count/_sum series of histograms, plus the
prometheus-nats-exporter metrics listed in NATS_EXPORTER below. Every
dashboard expression (Grafana variables replaced by plain values) is handed
to `promtool check rules` as a recording rule when promtool is installed.

Usage (from the repository root): python3 deploy/check_metrics.py
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "iis-dashboard.json")
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")

# prometheus-nats-exporter (-varz -jsz=all): the names used here.
NATS_EXPORTER = {
    "gnatsd_varz_connections", "gnatsd_varz_in_msgs",
    "jetstream_consumer_num_pending", "jetstream_consumer_num_ack_pending",
    "jetstream_consumer_num_redelivered", "jetstream_stream_total_messages",
    "jetstream_server_total_message_bytes", "jetstream_server_max_storage",
}

METRIC = re.compile(r"\b((?:iis|jetstream|gnatsd)_[a-z0-9_]+)\b")


def go_metrics():
    """Metric names registered in the project's Go sources (tests excluded)."""
    names = set()
    decl = re.compile(r'Name:\s*"(iis_[a-z0-9_]+)"')
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in (".git", "var", "testdata", "deploy")]
        for fn in filenames:
            if not fn.endswith(".go") or fn.endswith("_test.go"):
                continue
            with open(os.path.join(dirpath, fn), encoding="utf-8") as f:
                src = f.read()
            for name in decl.findall(src):
                names.add(name)
                if name.endswith("_seconds"):
                    names.update({name + "_bucket", name + "_count", name + "_sum"})
    return names


def dashboard_exprs():
    with open(DASHBOARD, encoding="utf-8") as f:
        d = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((p["title"], t["expr"]))
            walk(p.get("panels", []))

    walk(d["panels"])
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            m = re.match(r"label_values\((\w+),", v["definition"])
            if m:
                out.append(("variable " + v["name"], m.group(1)))
    return out


def alert_exprs():
    # Metric names are collected from the whole file (expressions and
    # annotations) without a YAML library; comment lines are skipped.
    with open(ALERTS, encoding="utf-8") as f:
        lines = [ln for ln in f if not ln.lstrip().startswith("#")]
    return [("alerts.yml", "".join(lines))]


def main():
    known = go_metrics() | NATS_EXPORTER
    problems = 0
    dash = dashboard_exprs()
    for where, expr in dash + alert_exprs():
        for m in METRIC.findall(expr):
            if m not in known:
                print(f"unknown metric {m} in {where}")
                problems += 1
    if shutil.which("promtool"):
        rules = {"groups": [{"name": "dashboard", "rules": []}]}
        for i, (_, e) in enumerate(dash):
            q = (e.replace("$__rate_interval", "5m").replace("$__range", "1h")
                 .replace("$facility", ".*").replace("$instance", ".*"))
            rules["groups"][0]["rules"].append({"record": f"dashboard:expr:{i}", "expr": q})
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump(rules, f)  # JSON is YAML
        try:
            r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        if r.returncode != 0:
            print(r.stdout + r.stderr)
            problems += 1
        else:
            print(f"dashboard: {len(dash)} PromQL expressions parse (promtool)")
    else:
        print("promtool not installed: dashboard PromQL not parsed")
    print(f"metrics: {len(known)} known, {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
