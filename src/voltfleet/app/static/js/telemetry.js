/* uPlot charts of telemetry, beside charts.js (whose VF.readJSON they use). Plain JS.
 *
 *   VF.seriesChart(el, data)   lines of a device's data points over time, in the site's zone;
 *                              data: {x: [epoch s], tz, series: [{label, unit, values: [..]}]}
 *                              hover shows each point's value in the legend.
 *   VF.energyChart(el, data)   grouped bars per period (PV, consumption, import, export)
 *                              data: {labels: [..], pv, consumption, grid_import, grid_export} kWh
 *   VF.trendChart(el, data)    bars of the fleet's monthly yield; data: {labels, values} kWh
 * The y axis is 60 px wide so that negative values' labels are not clipped.
 */
(function () {
  "use strict";
  var PALETTE = ["#e0a800", "#2e86c1", "#c0392b", "#0a7d5a", "#8e44ad", "#10202e", "#d35400"];

  // Shared with the money charts (charts.js, loaded first).
  var widthOf = VF.widthOf;
  var follow = VF.follow;
  var groupedBars = VF.groupedBars;

  function fixed(digits, unit) {
    return function (u, v) {
      return v == null ? "–" : v.toFixed(digits) + (unit ? " " + unit : "");
    };
  }

  function seriesChart(el, data) {
    if (!el || !data || !data.x || data.x.length === 0) return null;
    var tz = data.tz;
    var units = [];
    data.series.forEach(function (s) {
      if (units.indexOf(s.unit) < 0) units.push(s.unit);
    });
    var scales = { x: { time: true } };
    var axes = [{}];
    units.forEach(function (unit, i) {
      scales[unit] = {};
      axes.push({ scale: unit, size: 60, label: unit, side: i === 0 ? 3 : 1, grid: { show: i === 0 } });
    });
    var series = [{}];
    data.series.forEach(function (s, i) {
      series.push({
        label: s.label,
        scale: s.unit,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: false,
        points: { show: data.x.length < 60 },
        value: fixed(s.unit === "Wh" || s.unit === "W" ? 0 : 2, s.unit),
      });
    });
    var opts = {
      width: widthOf(el),
      height: 300,
      tzDate: function (ts) {
        return uPlot.tzDate(new Date(ts * 1e3), tz);
      },
      cursor: { drag: { x: true, y: false } },
      scales: scales,
      axes: axes,
      series: series,
    };
    var columns = [data.x].concat(
      data.series.map(function (s) {
        return s.values;
      })
    );
    return follow(el, new uPlot(opts, columns, el));
  }

  function barChart(el, labels, bars, unit) {
    var n = labels.length;
    var xs = labels.map(function (_, i) {
      return i;
    });
    var series = [
      {
        label: "Period",
        value: function (u, v) {
          return v == null ? "–" : labels[v];
        },
      },
    ];
    bars.forEach(function (b, k) {
      series.push({
        label: b.label,
        fill: b.color + "cc",
        stroke: b.color,
        width: 0,
        paths: groupedBars(k, bars.length),
        points: { show: false },
        value: fixed(2, unit),
      });
    });
    var opts = {
      width: widthOf(el),
      height: 280,
      scales: {
        x: {
          time: false,
          range: function () {
            return [-0.5, n - 0.5];
          },
        },
        y: {
          range: function (u, min, max) {
            return uPlot.rangeNum(Math.min(0, min), Math.max(0, max), 0.1, true);
          },
        },
      },
      axes: [
        {
          space: 40,
          values: function (u, splits) {
            return splits.map(function (v) {
              return Number.isInteger(v) && v >= 0 && v < n ? labels[v] : "";
            });
          },
        },
        { size: 60, label: unit },
      ],
      series: series,
    };
    var columns = [xs].concat(
      bars.map(function (b) {
        return b.values;
      })
    );
    return follow(el, new uPlot(opts, columns, el));
  }

  function energyChart(el, data) {
    if (!el || !data || !data.labels || data.labels.length === 0) return null;
    return barChart(
      el,
      data.labels,
      [
        { label: "PV yield", color: "#e0a800", values: data.pv },
        { label: "Consumption", color: "#2e86c1", values: data.consumption },
        { label: "Grid import", color: "#c0392b", values: data.grid_import },
        { label: "Grid export", color: "#0a7d5a", values: data.grid_export },
      ],
      "kWh"
    );
  }

  function trendChart(el, data) {
    if (!el || !data || !data.labels || data.labels.length === 0) return null;
    return barChart(el, data.labels, [{ label: "PV yield", color: "#e0a800", values: data.values }], "kWh");
  }

  window.VF = window.VF || {};
  window.VF.seriesChart = seriesChart;
  window.VF.energyChart = energyChart;
  window.VF.trendChart = trendChart;
})();
