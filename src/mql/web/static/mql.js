// Draws the charts of the lead, funnel, calibration and backtest pages with uPlot from the data the page carries
// (the same numbers are in the page's tables, which work without JavaScript).
(function () {
  "use strict";
  function width(el) { return Math.max(320, el.clientWidth || 800); }
  function lines(el) {
    var s = JSON.parse(el.dataset.series);
    var opts = {
      width: width(el), height: 300,
      series: [{}, { label: "fit", stroke: "#2060a0", width: 2 },
               { label: "intent", stroke: "#c05a00", width: 2 },
               { label: "total", stroke: "#1d7a46", width: 3 }],
      axes: [{}, { label: "points" }]
    };
    new uPlot(opts, [s.t, s.fit, s.intent, s.total], el);
  }
  function bars(el) {
    var b = JSON.parse(el.dataset.bars);
    var xs = b.labels.map(function (_, i) { return i; });
    var bar = uPlot.paths.bars({ size: [0.6, 60] });
    var opts = {
      width: width(el), height: 300, scales: { x: { time: false } },
      series: [{}, { label: "MQLs", fill: "#2060a0aa", stroke: "#2060a0", paths: bar },
               { label: "SQLs", fill: "#1d7a46aa", stroke: "#1d7a46", paths: bar }],
      axes: [{ values: function (u, ticks) { return ticks.map(function (t) { return b.labels[t] || ""; }); } },
             { label: "leads" }]
    };
    new uPlot(opts, [xs, b.mqls, b.sqls], el);
  }
  function weekly(el) {
    var b = JSON.parse(el.dataset.weekly);
    var xs = b.labels.map(function (_, i) { return i; });
    var opts = {
      width: width(el), height: 300, scales: { x: { time: false } },
      series: [{}, { label: "this version", stroke: "#c05a00", width: 2 },
               { label: "live", stroke: "#2060a0", width: 2, dash: [6, 4] }],
      axes: [{ values: function (u, ticks) { return ticks.map(function (t) { return b.labels[t] || ""; }); } },
             { label: "MQLs" }]
    };
    new uPlot(opts, [xs, b.candidate, b.live], el);
  }
  function curve(el) {
    var c = JSON.parse(el.dataset.curve);
    var opts = {
      width: width(el), height: 300, scales: { x: { time: false } },
      series: [{ label: "threshold" },
               { label: "conversion at or above", stroke: "#2060a0", width: 2 },
               { label: "isotonic fit", stroke: "#1d7a46", width: 2, dash: [6, 4] }],
      axes: [{ label: "threshold" },
             { label: "converted", values: function (u, ticks) { return ticks.map(function (t) { return Math.round(t * 100) + "%"; }); } }]
    };
    new uPlot(opts, [c.threshold, c.rate, c.fitted], el);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var w = document.getElementById("backtest-chart");
    if (w) { weekly(w); }
    var k = document.getElementById("calibration-chart");
    if (k) { curve(k); }
    var c = document.getElementById("chart");
    if (c) { lines(c); }
    var f = document.getElementById("funnel-chart");
    if (f) { bars(f); }
  });
})();
