// The ntx report: draws the View (the JSON in #data) as charts (inline
// SVG) and tables. The same script runs the live dashboard, which feeds
// it a new View every second. Nothing is fetched from elsewhere.
"use strict";
(function () {
  var SVGNS = "http://www.w3.org/2000/svg";
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#4b5563", "#ea580c"];

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k]; else if (k === "cls") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined || isNaN(v)) return "-";
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k";
    if (a >= 100 || v === Math.round(v)) return String(Math.round(v));
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(2);
  }
  function ms(v) { return v === undefined || v === null ? "-" : v.toFixed(v >= 100 ? 1 : v >= 1 ? 2 : 3); }
  function bytes(n) {
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + u[i];
  }
  // A share that never rounds to 0% or 100% when it is not.
  function pct(part, whole) {
    if (!whole) return "0%";
    var p = 100 * part / whole, d = 1;
    while (d < 4 && ((part && +p.toFixed(d) === 0) || (part < whole && +p.toFixed(d) === 100))) d++;
    return p.toFixed(d) + "%";
  }
  function dur(msv) {
    var s = msv / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + "s";
    var m = Math.floor(s / 60); s = Math.round(s - 60 * m);
    if (m < 60) return m + "m" + (s ? s + "s" : "");
    return Math.floor(m / 60) + "h" + (m % 60) + "m";
  }

  // Round ticks: steps of 1, 2 or 5 times a power of ten, covering [0, max].
  function niceStep(span, n) {
    var raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / p;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * p;
  }
  function yTicks(max, whole) {
    if (!(max > 0)) max = 1;
    var step = niceStep(max, 4);
    if (whole) step = Math.max(1, step);
    var top = Math.ceil(max / step - 1e-9) * step, t = [];
    for (var v = 0; v <= top + step / 2; v += step) t.push(+v.toPrecision(12));
    return t;
  }
  // Time ticks in round steps (seconds, then minutes, then hours); the
  // last tick is at or after the end, and the axis runs to it.
  function tTicks(max) {
    var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) if (max / steps[i] <= 8) { step = steps[i]; break; }
    var t = [];
    for (var v = 0; v <= max + 1e-9; v += step) t.push(v);
    // A run that ends just past a tick (8.003 s) ends the axis there;
    // otherwise the axis runs on to the next tick.
    if (t[t.length - 1] < max - 0.05 * step) t.push(t[t.length - 1] + step);
    return t;
  }
  function tLabel(s) {
    if (s < 60 || s % 60) return s + "s";
    if (s < 3600 || s % 3600) return s / 60 + "m";
    return s / 3600 + "h";
  }

  var W = 560, H = 220, L = 52, R = 12, T = 30, B = 28;

  // A line chart of series over the run's time t, with a legend and a
  // hover that shows every series' value at the nearest point.
  function lineChart(title, unit, t, lines, opts) {
    var box = el("div", { cls: "chart" }), svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title });
    box.appendChild(svg);
    svg.appendChild(sv("text", { x: L, y: 16, "class": "title" }, title + (unit ? " (" + unit + ")" : "")));
    if (!t || !t.length) {
      svg.appendChild(sv("text", { x: L, y: H / 2, "class": "axis" }, "no data yet: the run has not completed a second"));
      return box;
    }
    var end = Math.max(t[t.length - 1], 1), xt = tTicks(end), maxT = Math.max(xt[xt.length - 1], end), maxY = 0;
    lines.forEach(function (l) { l.values.forEach(function (v) { if (v !== null && v > maxY) maxY = v; }); });
    var yt = yTicks(maxY, opts && opts.whole), top = yt[yt.length - 1];
    var x = function (s) { return L + (W - L - R) * s / maxT; };
    var y = function (v) { return T + (H - T - B) * (1 - v / top); };
    yt.forEach(function (v) {
      svg.appendChild(sv("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), "class": "grid" }));
      svg.appendChild(sv("text", { x: L - 6, y: y(v) + 4, "class": "axis", "text-anchor": "end" }, fmt(v)));
    });
    xt.forEach(function (s) {
      svg.appendChild(sv("line", { x1: x(s), x2: x(s), y1: T, y2: H - B, "class": "grid" }));
      svg.appendChild(sv("text", { x: x(s), y: H - B + 16, "class": "axis", "text-anchor": "middle" }, tLabel(s)));
    });
    var legend = el("div", { cls: "legend" });
    lines.forEach(function (l) {
      var i = el("i"); i.style.background = l.color;
      legend.appendChild(el("span", {}, [i, l.name]));
    });
    box.appendChild(legend);
    lines.forEach(function (l) {
      var d = "", pen = false;
      l.values.forEach(function (v, i) {
        if (v === null) { pen = false; return; }
        d += (pen ? "L" : "M") + x(t[i]).toFixed(1) + "," + y(v).toFixed(1);
        pen = true;
      });
      if (l.values.length === 1 && l.values[0] !== null) svg.appendChild(sv("circle", { cx: x(t[0]), cy: y(l.values[0]), r: 3, fill: l.color }));
      svg.appendChild(sv("path", { d: d, fill: "none", stroke: l.color, "stroke-width": 1.8, "stroke-linejoin": "round" }));
    });
    var cursor = sv("line", { y1: T, y2: H - B, "class": "cursor", visibility: "hidden" });
    svg.appendChild(cursor);
    var tip = el("div", { cls: "tip" });
    box.appendChild(tip);
    var area = sv("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "transparent" });
    svg.appendChild(area);
    area.addEventListener("mousemove", function (ev) {
      var r = svg.getBoundingClientRect(), sx = (ev.clientX - r.left) * W / r.width;
      var want = (sx - L) / (W - L - R) * maxT, best = 0;
      for (var i = 1; i < t.length; i++) if (Math.abs(t[i] - want) < Math.abs(t[best] - want)) best = i;
      cursor.setAttribute("x1", x(t[best])); cursor.setAttribute("x2", x(t[best])); cursor.setAttribute("visibility", "visible");
      tip.textContent = "";
      tip.appendChild(el("div", { text: "at " + t[best].toFixed(1) + "s" }));
      lines.forEach(function (l) {
        var i = el("i"); i.style.background = l.color;
        tip.appendChild(el("div", {}, [i, l.name + ": " + fmt(l.values[best]) + (unit ? " " + unit : "")]));
      });
      tip.style.display = "block";
      var px = (ev.clientX - r.left) + 14;
      if (px > r.width - 190) px = (ev.clientX - r.left) - 190;
      tip.style.left = px + "px"; tip.style.top = ((ev.clientY - r.top) + 10) + "px";
    });
    area.addEventListener("mouseleave", function () { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); });
    return box;
  }

  // The latency distribution: log-scale bins of the HDR histogram on a
  // log-scale axis, with each bin's share and the percentile it reaches.
  function distChart(title, d) {
    var box = el("div", { cls: "chart" }), svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title });
    box.appendChild(svg);
    svg.appendChild(sv("text", { x: L, y: 16, "class": "title" }, title));
    if (!d) {
      svg.appendChild(sv("text", { x: L, y: H / 2, "class": "axis" }, "no successful call, or no histogram in this result"));
      return box;
    }
    var total = 0, maxC = 0;
    d.c.forEach(function (c) { total += c; if (c > maxC) maxC = c; });
    // In milliseconds, on a log axis from a round decade to a round decade.
    var edge = function (k) { return Math.pow(10, k / d.per) / 1000; };
    var lo = Math.floor((d.k0) / d.per), hi = Math.ceil((d.k0 + d.c.length) / d.per);
    if (hi - lo < 2) { lo -= 1; hi += 0; }
    var x = function (msv) { return L + (W - L - R) * (Math.log10(msv * 1000) - lo) / (hi - lo); };
    var yt = yTicks(100 * maxC / total), top = yt[yt.length - 1];
    var y = function (p) { return T + (H - T - B) * (1 - p / top); };
    yt.forEach(function (v) {
      svg.appendChild(sv("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), "class": "grid" }));
      svg.appendChild(sv("text", { x: L - 6, y: y(v) + 4, "class": "axis", "text-anchor": "end" }, fmt(v) + "%"));
    });
    for (var dec = lo; dec <= hi; dec++) {
      [1, 2, 5].forEach(function (m) {
        var v = m * Math.pow(10, dec) / 1000;
        if (dec + Math.log10(m) > hi + 1e-9) return;
        svg.appendChild(sv("line", { x1: x(v), x2: x(v), y1: T, y2: H - B, "class": "grid" }));
        var label = v >= 1000 ? fmt(v / 1000) + "s" : (v >= 1 ? fmt(v) : +v.toPrecision(1)) + "ms";
        // Over many decades only the decades are labelled, so labels do not collide.
        if (m !== 1 && hi - lo > 2) return;
        var anchor = x(v) > W - R - 20 ? "end" : x(v) < L + 10 ? "start" : "middle";
        svg.appendChild(sv("text", { x: x(v), y: H - B + 16, "class": "axis", "text-anchor": anchor }, label));
      });
    }
    var tip = el("div", { cls: "tip" });
    box.appendChild(tip);
    var cum = 0;
    d.c.forEach(function (c, i) {
      cum += c;
      if (!c) return;
      var a = edge(d.k0 + i), b = edge(d.k0 + i + 1), share = 100 * c / total, upto = 100 * cum / total;
      var r = sv("rect", { x: x(a) + 0.3, y: y(share), width: Math.max(x(b) - x(a) - 0.6, 0.8), height: y(0) - y(share), fill: "#3b82f6" });
      svg.appendChild(r);
      r.addEventListener("mousemove", function (ev) {
        var br = svg.getBoundingClientRect();
        tip.textContent = "";
        tip.appendChild(el("div", { text: ms(a) + " - " + ms(b) + " ms" }));
        tip.appendChild(el("div", { text: fmt(c) + " calls, " + share.toFixed(2) + "%" }));
        tip.appendChild(el("div", { text: "p" + (upto >= 99.99 ? "100" : upto.toFixed(2)) + " reached here" }));
        tip.style.display = "block";
        var px = ev.clientX - br.left + 14;
        if (px > br.width - 170) px = ev.clientX - br.left - 170;
        tip.style.left = px + "px"; tip.style.top = (ev.clientY - br.top + 10) + "px";
        r.setAttribute("fill", "#1d4ed8");
      });
      r.addEventListener("mouseleave", function () { tip.style.display = "none"; r.setAttribute("fill", "#3b82f6"); });
    });
    svg.appendChild(sv("text", { x: W - R, y: 16, "class": "axis", "text-anchor": "end" }, fmtInt(total) + " calls; share per bin"));
    return box;
  }

  // A table whose headers sort it (numbers as numbers), capped with a
  // count of the rows not shown.
  function table(heads, rows, opts) {
    opts = opts || {};
    var tb = el("table"), tr = el("tr"), body = el("tbody");
    var state = { col: -1, desc: false };
    heads.forEach(function (h, i) {
      var th = el("th", { text: h, cls: opts.nosort ? "" : "sort", title: opts.nosort ? "" : "sort by " + h });
      if (!opts.nosort) th.addEventListener("click", function () {
        state.desc = state.col === i ? !state.desc : i > 0;
        state.col = i;
        Array.prototype.forEach.call(tr.children, function (c, j) { c.className = "sort" + (j === i ? (state.desc ? " desc" : " asc") : ""); });
        rows.sort(function (a, b) {
          var x = a[i], y = b[i], c;
          if (x && typeof x === "object") x = x.v; if (y && typeof y === "object") y = y.v;
          c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
          return state.desc ? -c : c;
        });
        fill();
      });
      tr.appendChild(th);
    });
    tb.appendChild(el("thead", {}, [tr]));
    tb.appendChild(body);
    function fill() {
      body.textContent = "";
      rows.forEach(function (r) {
        var row = el("tr");
        r.forEach(function (c, j) {
          var td = el("td");
          if (c && typeof c === "object") { if (c.cls) td.className = c.cls; if (c.node) td.appendChild(c.node); else td.textContent = c.t; }
          else td.textContent = typeof c === "number" ? (opts.raw && opts.raw[j] ? String(c) : fmtInt(c)) : c;
          row.appendChild(td);
        });
        body.appendChild(row);
      });
      if (opts.more) body.appendChild(el("tr", {}, [el("td", { colspan: heads.length, cls: "note", text: "and " + fmtInt(opts.more) + " more (the busiest " + fmtInt(rows.length) + " are shown; every one is in the JSON result)" })]));
    }
    fill();
    return el("div", { cls: "scroll" }, [tb]);
  }
  function fmtInt(n) { return Number.isInteger(n) ? n.toLocaleString("en-US") : fmt(n); }
  function cell(t, v, cls) { return { t: t, v: v, cls: cls }; }

  function section(app, title, kids) {
    app.appendChild(el("h2", { text: title, id: title.toLowerCase().replace(/[^a-z0-9]+/g, "-") }));
    kids.forEach(function (k) { if (k) app.appendChild(k); });
  }

  // Which action each tab shows, kept across the dashboard's redraws.
  var shown = {};

  function render(D) {
    ["reasons", "warnings", "thresholds", "actions", "errors", "sources", "pools", "phases"].forEach(function (k) { D[k] = D[k] || []; });
    if (!D.series) D.series = { t: [] };
    if (!D.users) D.users = {};
    if (!D.iterations) D.iterations = {};
    var app = document.getElementById("app");
    var scrollY = window.scrollY;
    app.textContent = "";
    var verdict = D.live ? el("span", { cls: "verdict live", text: "running" }) :
      el("span", { cls: "verdict " + (D.passed ? "pass" : "fail"), text: D.passed ? "passed" : "FAILED" });
    app.appendChild(el("h1", {}, [D.scenario + " ", verdict]));
    var meta = "started " + D.started + ", " + (D.live ? "running for " : "ran ") + dur(D.duration_ms);
    if (D.segment) meta += ", segment " + D.segment;
    if (D.fleet) meta += ", fleet: " + D.fleet.merged.length + " of " + D.fleet.segments + " segments merged";
    app.appendChild(el("div", { cls: "meta", text: meta }));
    if (D.live_report) app.appendChild(el("p", {}, [el("a", { href: D.live_report, download: "report.html", text: "Download the final report" })]));
    if (D.interrupted) app.appendChild(el("p", { cls: "bad", text: "Interrupted: the run was stopped before its end; these results cover what completed." }));
    if (D.incomplete && D.fleet) D.fleet.lost.forEach(function (l) { app.appendChild(el("p", { cls: "bad", text: "Segment " + l.segment + " lost: " + l.reason + "; these results cover the other segments." })); });
    (D.warnings || []).forEach(function (w) { app.appendChild(el("p", { cls: "bad", text: "Warning: " + w })); });

    var cards = el("div", { cls: "cards" }), u = D.users, it = D.iterations;
    var card = function (label, big, small, cls) { cards.appendChild(el("div", { cls: "card" }, [label, el("b", { text: big }), el("span", { cls: cls || "", text: small })])); };
    var totalReq = 0, totalErr = 0;
    D.actions.forEach(function (a) { if (a.kind !== "custom") { totalReq += a.count; totalErr += a.failed; } });
    card("requests", fmtInt(totalReq), fmt(D.duration_ms > 0 ? totalReq / (D.duration_ms / 1000) : 0) + "/s on average");
    card("errors", fmtInt(totalErr), pct(totalErr, totalReq) + " of requests", totalErr ? "bad" : "ok");
    card("users", fmtInt(u.spawned), "peak " + u.peak_concurrent + " concurrent" + (u.failed_to_start ? ", " + u.failed_to_start + " failed to start" : ""));
    card("iterations", fmtInt(it.total), it.passed + " passed, " + it.failed + " failed", it.failed ? "bad" : "");
    if (D.http) card("HTTP latency", "p95 " + ms(D.http.p95) + " ms", "p50 " + ms(D.http.p50) + ", p99 " + ms(D.http.p99) + ", max " + ms(D.http.max));
    if (D.start_lag) card("arrivals started late by", "p99 " + ms(D.start_lag.p99) + " ms", "p50 " + ms(D.start_lag.p50) + ", max " + ms(D.start_lag.max) + " after their intended start");
    if (D.arrivals) card("arrivals started", fmtInt(D.arrivals.started) + " of " + fmtInt(D.arrivals.planned), D.arrivals.dropped + " dropped (" + pct(D.arrivals.dropped, D.arrivals.planned) + ")", D.arrivals.dropped ? "bad" : "ok");
    app.appendChild(cards);

    if (D.reasons.length) section(app, "Why it failed", [table(["reason", "count"], D.reasons.map(function (r) { return [cell(r.message, r.message, "msg"), r.count]; }))]);
    if (D.thresholds.length) section(app, "Thresholds", [table(["threshold", "value", "verdict"], D.thresholds.map(function (t) {
      return [t.expr, t.error ? cell(t.error, t.error, "msg") : cell(t.shown || fmt(t.value), t.value), cell(t.ok ? "ok" : "FAIL", t.ok ? 1 : 0, t.ok ? "ok" : "bad")];
    }))]);

    var S = D.series;
    section(app, "Over time", [el("div", { cls: "grid2" }, [
      lineChart("Throughput", "per second", S.t, [{ name: "requests/s", color: COLORS[0], values: S.rps }, { name: "errors/s", color: COLORS[1], values: S.eps }]),
      lineChart("Active users", "users", S.t, [{ name: "active users", color: COLORS[4], values: S.active }], { whole: true }),
      lineChart("Latency of successful calls, all actions", "ms", S.t, [{ name: "p50", color: COLORS[2], values: S.p50 }, { name: "p95", color: COLORS[3], values: S.p95 }, { name: "p99", color: COLORS[1], values: S.p99 }]),
      D.arrivals ? arrivalsBox(D.arrivals) : null,
      S.lag_max ? lineChart("Intended vs actual start of arrivals: lateness", "ms", S.t, [{ name: "p99 late", color: COLORS[3], values: S.lag_p99 }, { name: "max late", color: COLORS[1], values: S.lag_max }]) : null,
      S.arr ? lineChart("Arrivals started", "per second", S.t, [{ name: "arrivals/s", color: COLORS[2], values: S.arr }]) : null
    ])]);

    var charted = D.actions.filter(function (a) { return a.over; });
    if (charted.length) {
      // All actions' p95 and rates together, then one action in detail.
      var top = charted.slice(0, COLORS.length);
      var both = el("div", { cls: "grid2" }, [
        lineChart("p95 latency by action", "ms", S.t, top.map(function (a, i) { return { name: a.name, color: COLORS[i], values: a.over.p95 }; })),
        lineChart("Calls by action", "per second", S.t, top.map(function (a, i) { return { name: a.name, color: COLORS[i], values: a.over.rps }; }))
      ]);
      var detail = el("div"), tabs2 = el("div", { cls: "tabs" });
      var pick = function (i) {
        var a = charted[i];
        detail.textContent = "";
        detail.appendChild(el("div", { cls: "grid2" }, [
          lineChart(a.name + ": latency", "ms", S.t, [{ name: "p50", color: COLORS[2], values: a.over.p50 }, { name: "p95", color: COLORS[3], values: a.over.p95 }, { name: "p99", color: COLORS[1], values: a.over.p99 }]),
          lineChart(a.name + ": throughput", "per second", S.t, [{ name: "calls/s", color: COLORS[0], values: a.over.rps }, { name: "errors/s", color: COLORS[1], values: a.over.eps }])]));
        Array.prototype.forEach.call(tabs2.children, function (b, j) { b.className = j === i ? "on" : ""; });
        shown.action = a.name;
      };
      charted.forEach(function (a, i) {
        var b = el("button", { text: a.name });
        b.addEventListener("click", function () { pick(i); });
        tabs2.appendChild(b);
      });
      var note = D.actions.length > charted.length ? el("p", { cls: "note", text: "The " + charted.length + " busiest actions are charted; the rest are in the tables." }) : null;
      section(app, "Per action over time", [both, el("h3", { text: "One action" }), tabs2, detail, note]);
      var at = 0;
      charted.forEach(function (a, i) { if (a.name === shown.action) at = i; });
      pick(at);
    }

    section(app, "Actions", [table(["action", "kind", "count", "ok", "failed", "error rate", "min ms", "mean ms", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms", "failed p50 ms", "sent", "received"],
      D.actions.map(function (a) {
        var l = a.lat, f = a.flat;
        return [a.name, a.kind, a.count, a.ok, a.failed, cell(pct(a.failed, a.count), a.count ? a.failed / a.count : 0, a.failed ? "bad" : ""),
          cell(ms(l.min), l.min), cell(ms(l.mean), l.mean), cell(ms(l.p50), l.p50), cell(ms(l.p95), l.p95), cell(ms(l.p99), l.p99), cell(ms(l.p999), l.p999), cell(ms(l.max), l.max),
          f ? cell(ms(f.p50), f.p50) : cell("-", -1), cell(bytes(a.sent), a.sent), cell(bytes(a.recv), a.recv)];
      }))]);

    var withDist = D.actions.filter(function (a) { return a.dist; });
    if (withDist.length) {
      var holder = el("div"), tabs = el("div", { cls: "tabs" });
      var show = function (i) {
        var a = withDist[i], l = a.lat;
        holder.textContent = "";
        holder.appendChild(el("div", { cls: "grid2" }, [distChart(a.name + " (log scale)", a.dist),
          table(["statistic", "ms"], [["min", l.min], ["p50", l.p50], ["p90", l.p90], ["p95", l.p95], ["p99", l.p99], ["p99.9", l.p999], ["max", l.max], ["mean", l.mean]].map(function (r) { return [r[0], cell(ms(r[1]), r[1])]; }), { nosort: true })]));
        Array.prototype.forEach.call(tabs.children, function (b, j) { b.className = j === i ? "on" : ""; });
        shown.dist = withDist[i].name;
      };
      withDist.slice(0, 50).forEach(function (a, i) {
        var b = el("button", { text: a.name });
        b.addEventListener("click", function () { show(i); });
        tabs.appendChild(b);
      });
      section(app, "Latency distribution", [tabs, holder]);
      var di = 0;
      withDist.forEach(function (a, i) { if (a.name === shown.dist && i < 50) di = i; });
      show(di);
    }

    var timed = D.actions.filter(function (a) { return a.timings; });
    if (timed.length) {
      // One row per action; a phase none of them spent time in is left out.
      var used = D.phases.filter(function (p) { return timed.some(function (a) { return a.timings[p] && a.timings[p].max; }); });
      var heads = ["action"];
      used.forEach(function (p) { heads.push(p + " mean", p + " p95"); });
      var rows = timed.map(function (a) {
        var r = [a.name];
        used.forEach(function (p) { var l = a.timings[p] || {}; r.push(cell(ms(l.mean), l.mean), cell(ms(l.p95), l.p95)); });
        return r;
      });
      section(app, "HTTP timing phases", [phaseBars(timed, used), table(heads, rows)]);
    }

    var codes = {};
    D.actions.forEach(function (a) { for (var c in a.status || {}) codes[c] = (codes[c] || 0) + a.status[c]; });
    var codeList = Object.keys(codes).sort();
    if (codeList.length) {
      var total = 0, maxN = 0;
      codeList.forEach(function (c) { total += codes[c]; maxN = Math.max(maxN, codes[c]); });
      var sum = codeList.map(function (c) {
        var bar = el("span", { cls: "bar" }); bar.style.width = Math.max(2, 300 * codes[c] / maxN) + "px";
        if (c[0] === "4" || c[0] === "5") bar.style.background = "#fca5a5";
        return [c, codes[c], cell(pct(codes[c], total), codes[c] / total), { node: bar, v: codes[c], cls: "left" }];
      });
      var per = D.actions.filter(function (a) { return a.status; }).map(function (a) {
        return [a.name].concat(codeList.map(function (c) { var n = a.status[c] || 0; return cell(n ? fmtInt(n) : "", n, c[0] === "4" || c[0] === "5" ? "bad" : ""); }));
      });
      section(app, "Status codes", [table(["status", "responses", "share", ""], sum), el("h3", { text: "By action" }), table(["action"].concat(codeList), per)]);
    }

    if (D.errors.length) section(app, "Errors by kind", [table(["action", "kind", "count", "first message"], D.errors.map(function (e) { return [e.action, e.kind, e.count, cell(e.message || "-", e.message, "msg")]; }))]);
    if (D.flows && Object.keys(D.flows).length > 1) {
      var fusers = 0, fweights = 0;
      Object.keys(D.flows).forEach(function (k) { fusers += D.flows[k].users; fweights += D.flows[k].weight; });
      section(app, "User mix", [table(["flow", "weight", "users", "iterations", "passed", "failed", "p50 ms", "p95 ms", "max ms"], Object.keys(D.flows).sort().map(function (k) {
        var f = D.flows[k], d = f.iteration_ms;
        return [k, f.weight + " (" + (fweights ? Math.round(100 * f.weight / fweights) : 0) + "%)",
          fmtInt(f.users) + " (" + (fusers ? (100 * f.users / fusers).toFixed(1) : "0") + "%)", fmtInt(f.iterations), fmtInt(f.passed),
          cell(fmtInt(f.failed), f.failed, f.failed ? "bad" : ""), d ? d.p50 : "-", d ? d.p95 : "-", d ? d.max : "-"];
      }))]);
    }
    if (D.failures && Object.keys(D.failures).length) section(app, "Iteration failures", [table(["reason", "count"], Object.keys(D.failures).sort().map(function (k) { return [k, D.failures[k]]; }))]);
    if (D.checks && Object.keys(D.checks).length) section(app, "Checks", [table(["check", "passed", "failed"], Object.keys(D.checks).sort().map(function (k) { var c = D.checks[k]; return [k, c.passed, cell(fmtInt(c.failed), c.failed, c.failed ? "bad" : "")]; }))]);
    if (D.sources.length) section(app, "Source addresses", [table(["address", "requests", "errors", "error rate"], D.sources.map(function (s) { return [s[0], s[1], s[2], cell(pct(s[2], s[1]), s[1] ? s[2] / s[1] : 0, s[2] ? "bad" : "")]; }), { more: D.sources_more })]);
    if (D.pools.length) section(app, "IP pools", [table(["pool", "size", "peak allocated", "waits", "exhausted"], D.pools.map(function (p) { return [p[0], p[1], p[2], p[3], cell(fmtInt(p[4]), p[4], p[4] ? "bad" : "")]; }))]);
    app.appendChild(el("p", { cls: "note", text: "Made by ntx. Latencies from HDR histograms at microsecond resolution, of successful calls (failed calls apart). Rates are per second of the time each point covered." +
      (D.arrivals ? " Open model: latencies are measured from each arrival's intended start." : " Closed model: latencies exclude queueing (each user waits for its last call); load.arrival measures latency at a fixed rate.") }));
    if (D.live) window.scrollTo(0, scrollY);
  }

  // The open model's arrivals: planned = started + dropped.
  function arrivalsBox(a) {
    var box = el("div", { cls: "chart" }), svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "arrivals" });
    box.appendChild(svg);
    svg.appendChild(sv("text", { x: L, y: 16, "class": "title" }, "Arrivals of the open model"));
    var max = Math.max(a.planned, 1), bw = W - L - R - 200;
    [["planned", a.planned, "#9ca3af"], ["started", a.started, "#16a34a"], ["dropped", a.dropped, "#dc2626"]].forEach(function (r, i) {
      var yy = T + 20 + i * 50;
      svg.appendChild(sv("text", { x: L, y: yy + 16, "class": "axis" }, r[0]));
      svg.appendChild(sv("rect", { x: L + 60, y: yy, width: Math.max(1, bw * r[1] / max), height: 24, fill: r[2], rx: 3 }));
      svg.appendChild(sv("text", { x: L + 66 + Math.max(1, bw * r[1] / max), y: yy + 16, "class": "axis" }, fmtInt(r[1]) + (i ? " (" + pct(r[1], a.planned) + ")" : "")));
    });
    svg.appendChild(sv("text", { x: L, y: H - 10, "class": "axis" }, "dropped: arrivals that found every user slot busy"));
    return box;
  }

  // Where each action's time goes: mean of each HTTP phase, stacked.
  function phaseBars(actions, phases) {
    var pc = { dns: "#a78bfa", connect: "#60a5fa", tls: "#34d399", send: "#fbbf24", wait: "#f87171", receive: "#9ca3af" };
    var rowH = 22, h = T + actions.length * rowH + 24, max = 0;
    actions.forEach(function (a) { var s = 0; phases.forEach(function (p) { if (a.timings[p]) s += a.timings[p].mean; }); max = Math.max(max, s); });
    var lw = 150, svg = sv("svg", { viewBox: "0 0 " + (W * 2) + " " + h, role: "img", "aria-label": "timing phases" });
    var box = el("div", { cls: "chart" }, []);
    box.appendChild(svg);
    svg.appendChild(sv("text", { x: 10, y: 16, "class": "title" }, "Mean time per phase (ms)"));
    var lx = 2 * W - R;
    phases.slice().reverse().forEach(function (p) { lx -= 80; svg.appendChild(sv("rect", { x: lx, y: 8, width: 12, height: 8, fill: pc[p] })); svg.appendChild(sv("text", { x: lx + 16, y: 16, "class": "axis" }, p)); });
    var span = 2 * W - lw - 80, ticks = yTicks(max), top = ticks[ticks.length - 1];
    ticks.forEach(function (v) {
      var xx = lw + span * v / top;
      svg.appendChild(sv("line", { x1: xx, x2: xx, y1: T - 4, y2: h - 20, "class": "grid" }));
      svg.appendChild(sv("text", { x: xx, y: h - 6, "class": "axis", "text-anchor": "middle" }, fmt(v)));
    });
    actions.forEach(function (a, i) {
      var yy = T + i * rowH, xx = lw;
      svg.appendChild(sv("text", { x: lw - 8, y: yy + 14, "class": "axis", "text-anchor": "end" }, a.name.length > 24 ? a.name.slice(0, 23) + "…" : a.name));
      phases.forEach(function (p) {
        var l = a.timings[p];
        if (!l || !l.mean) return;
        var w = span * l.mean / top, r = sv("rect", { x: xx, y: yy + 2, width: w, height: rowH - 6, fill: pc[p] });
        r.appendChild(sv("title", {}, a.name + " " + p + ": mean " + ms(l.mean) + " ms, p95 " + ms(l.p95) + " ms"));
        svg.appendChild(r);
        xx += w;
      });
    });
    return box;
  }

  var data = JSON.parse(document.getElementById("data").textContent);
  render(data);
  if (location.hash) { var at = document.getElementById(location.hash.slice(1)); if (at) at.scrollIntoView(); }
  var live = document.body.getAttribute("data-live");
  if (live && window.EventSource) {
    var es = new EventSource(live);
    es.onmessage = function (ev) { render(JSON.parse(ev.data)); };
    es.addEventListener("end", function (ev) { render(JSON.parse(ev.data)); es.close(); });
  }
})();
