#!/usr/bin/env bash
# Checks everything under deploy/ that can be checked without Docker or a
# Kubernetes cluster. Each check runs when its tool is installed and says
# so when it is not:
#   python3 (+PyYAML)  every YAML file parses; the dashboard is valid JSON
#   promtool           prometheus.yml, alerts.yml, the alert unit tests,
#                      and every dashboard query (deploy/check_metrics.py)
#   nats-server        the three NATS node configurations and the one in
#                      the Kubernetes ConfigMap
#   haproxy            the compose load balancer's configuration
#   kubectl            both kustomizations render (example secrets)
#   go                 the static build the Dockerfile makes
# Usage, from the repository root: deploy/check.sh
set -u
cd "$(dirname "$0")/.."
fail=0
have() { command -v "$1" >/dev/null 2>&1; }
step() { printf '== %s\n' "$*"; }
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step "YAML and JSON"
if have python3 && python3 -c 'import yaml' 2>/dev/null; then
  python3 - <<'EOF' || fail=1
import glob, json, sys, yaml
bad = 0
files = [f for f in glob.glob("deploy/**/*.y*ml", recursive=True)]
for f in sorted(files):
    try:
        docs = [d for d in yaml.safe_load_all(open(f)) if d is not None]
    except yaml.YAMLError as e:
        print("FAIL", f, e); bad += 1; continue
    print(f"ok   {f} ({len(docs)} document{'s' if len(docs) != 1 else ''})")
json.load(open("deploy/grafana/iis-dashboard.json"))
print("ok   deploy/grafana/iis-dashboard.json (JSON)")
sys.exit(1 if bad else 0)
EOF
else
  echo "skipped: python3 with PyYAML not installed"
fi

step "Prometheus"
if have promtool; then
  promtool check config deploy/prometheus/prometheus.yml || bad "promtool check config"
  promtool test rules deploy/prometheus/alerts_test.yml || bad "promtool test rules"
else
  echo "skipped: promtool not installed (apt-get install prometheus)"
fi
if have python3; then
  python3 deploy/check_metrics.py || bad "metric names / dashboard PromQL"
fi

step "NATS"
if have nats-server; then
  for i in 1 2 3; do
    NATS_IISD_PASSWORD=x NATS_SYS_PASSWORD=y nats-server -t -c "deploy/nats/nats-$i.conf" || bad "nats-$i.conf"
  done
  if have python3 && python3 -c 'import yaml' 2>/dev/null; then
    python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open("deploy/k8s/base/nats.yaml")):
    if d and d["kind"] == "ConfigMap":
        sys.stdout.write(d["data"]["nats.conf"])' > "$tmp/k8s-nats.conf"
    POD_NAME=nats-0 NATS_IISD_PASSWORD=x NATS_SYS_PASSWORD=y nats-server -t -c "$tmp/k8s-nats.conf" || bad "k8s nats.conf"
  fi
else
  echo "skipped: nats-server not installed"
fi

step "HAProxy"
if have haproxy; then
  # The iisd-N names resolve only inside compose: warnings, not errors.
  haproxy -c -f deploy/haproxy/haproxy.cfg 2>&1 | grep -v 'could not resolve address' || true
  haproxy -c -q -f deploy/haproxy/haproxy.cfg 2>/dev/null || bad "haproxy.cfg"
else
  echo "skipped: haproxy not installed"
fi

step "Kubernetes (kustomize)"
if have kubectl; then
  cp -r deploy/k8s "$tmp/k8s"
  cp "$tmp/k8s/secrets.env.example" "$tmp/k8s/secrets.env"
  cp "$tmp/k8s/iisd.json.example" "$tmp/k8s/iisd.json"
  cp "$tmp/k8s/trial/secrets.env.example" "$tmp/k8s/trial/secrets.env"
  cp "$tmp/k8s/iisd.json.example" "$tmp/k8s/trial/iisd.json"
  for k in "$tmp/k8s" "$tmp/k8s/trial"; do
    if out=$(kubectl kustomize "$k"); then
      echo "ok   ${k#"$tmp"/}: $(grep -c '^kind:' <<<"$out") objects"
    else
      bad "kubectl kustomize ${k#"$tmp"/}"
    fi
  done
else
  echo "skipped: kubectl not installed"
fi

step "Static build (as in deploy/Dockerfile)"
if have go; then
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/iisd" ./cmd/iisd || bad "go build"
  [ -x "$tmp/iisd" ] && echo "ok   iisd $(du -h "$tmp/iisd" | cut -f1), $(file -b "$tmp/iisd" 2>/dev/null | grep -o 'statically linked' || echo 'built')"
else
  echo "skipped: go not installed"
fi

if [ "$fail" -ne 0 ]; then
  echo "deploy/check.sh: FAILED"
  exit 1
fi
echo "deploy/check.sh: all checks passed"
