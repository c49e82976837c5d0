// The live view: polls live.json and redraws the tiles and the SVG charts.
(function () {
  "use strict";
  var colors = ["#0969da", "#1a7f37", "#cf222e", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#57606a"];
  var ackColors = { AA: "#1a7f37", AE: "#9a6700", AR: "#cf222e" };
  var svgNS = "http://www.w3.org/2000/svg";

  function fmt(n, digits) {
    if (n === undefined || n === null || isNaN(n)) return "–";
    if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return n.toFixed(digits || 0);
  }
  function set(id, text) { var el = document.getElementById(id); if (el) el.textContent = text; }

  // series: [{name, color, values: [number]}]; times: [ms]
  function draw(id, times, series, legendId) {
    var svg = document.getElementById(id);
    if (!svg) return;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = 600, H = 180, L = 44, B = 18, T = 8;
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    if (max <= 0) max = 1;
    var nice = Math.pow(10, Math.floor(Math.log10(max)));
    max = Math.ceil(max / nice) * nice;
    for (var g = 0; g <= 4; g++) {
      var y = T + (H - T - B) * (1 - g / 4);
      var line = document.createElementNS(svgNS, "line");
      line.setAttribute("x1", L); line.setAttribute("x2", W); line.setAttribute("y1", y); line.setAttribute("y2", y);
      line.setAttribute("stroke", "#e5e8eb");
      svg.appendChild(line);
      var label = document.createElementNS(svgNS, "text");
      label.setAttribute("x", L - 4); label.setAttribute("y", y + 4); label.setAttribute("text-anchor", "end");
      label.setAttribute("font-size", "10"); label.setAttribute("fill", "#667");
      label.textContent = fmt(max * g / 4, max < 4 ? 1 : 0);
      svg.appendChild(label);
    }
    var n = times.length;
    if (n > 1) {
      var t0 = times[0], t1 = times[n - 1], span = Math.max(t1 - t0, 1);
      series.forEach(function (s) {
        var pts = [];
        for (var i = 0; i < n; i++) {
          var x = L + (W - L) * (times[i] - t0) / span;
          var y = T + (H - T - B) * (1 - (s.values[i] || 0) / max);
          pts.push(x.toFixed(1) + "," + y.toFixed(1));
        }
        var pl = document.createElementNS(svgNS, "polyline");
        pl.setAttribute("points", pts.join(" "));
        pl.setAttribute("fill", "none"); pl.setAttribute("stroke", s.color); pl.setAttribute("stroke-width", "1.8");
        svg.appendChild(pl);
      });
      var secs = Math.round(span / 1000);
      var tl = document.createElementNS(svgNS, "text");
      tl.setAttribute("x", L); tl.setAttribute("y", H - 4); tl.setAttribute("font-size", "10"); tl.setAttribute("fill", "#667");
      tl.textContent = "last " + secs + " s";
      svg.appendChild(tl);
    }
    if (legendId) {
      var lg = document.getElementById(legendId);
      lg.textContent = "";
      series.forEach(function (s) {
        var span = document.createElement("span");
        var i = document.createElement("i");
        i.style.background = s.color;
        span.appendChild(i);
        span.appendChild(document.createTextNode(s.name));
        lg.appendChild(span);
      });
    }
  }

  function keyed(points, field, palette) {
    var names = {};
    points.forEach(function (p) { Object.keys(p[field] || {}).forEach(function (k) { names[k] = (names[k] || 0) + p[field][k]; }); });
    var top = Object.keys(names).sort(function (a, b) { return names[b] - names[a]; }).slice(0, 8);
    return top.map(function (k, i) {
      return { name: k || "(none)", color: (palette && palette[k]) || colors[i % colors.length],
        values: points.map(function (p) { return (p[field] || {})[k] || 0; }) };
    });
  }

  function update(d) {
    var pts = d.points || [];
    var last = pts.length ? pts[pts.length - 1] : null;
    var tot = d.totals || {};
    var ack = tot.by_ack || {};
    set("total-messages", fmt(tot.messages));
    set("ack-mix", fmt(ack.AA || 0) + " / " + fmt(ack.AE || 0) + " / " + fmt(ack.AR || 0));
    set("dead", fmt(tot.dead));
    if (last) {
      set("rate", fmt(last.rate, last.rate < 10 ? 1 : 0));
      set("p99", last.p99_ms ? last.p99_ms.toFixed(1) + " ms" : "–");
      set("lag", fmt(last.lag));
      set("doses", fmt(last.doses_rate, last.doses_rate < 10 ? 1 : 0));
    }
    var times = pts.map(function (p) { return p.t; });
    draw("chart-facility", times, keyed(pts, "by_facility"), "legend-facility");
    draw("chart-type", times, keyed(pts, "by_type"), "legend-type");
    draw("chart-ack", times, keyed(pts, "by_ack", ackColors), "legend-ack");
    draw("chart-p99", times, [{ name: "p99", color: colors[0], values: pts.map(function (p) { return p.p99_ms; }) }]);
    draw("chart-lag", times, [{ name: "lag", color: colors[3], values: pts.map(function (p) { return p.lag; }) }]);
    draw("chart-worker", times, [
      { name: "doses/s", color: colors[0], values: pts.map(function (p) { return p.doses_rate; }) },
      { name: "messages stored/s", color: colors[1], values: pts.map(function (p) { return p.stored_rate; }) }
    ], "legend-worker");
  }

  function poll() {
    fetch("/console/live.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (r.status === 401) { location.href = "/console/login"; } return r.json(); })
      .then(update)
      .catch(function () {})
      .finally(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
