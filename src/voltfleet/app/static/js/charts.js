/* Small helpers around uPlot for the portal's charts. Plain JS, no build step.
 *
 *   VF.readJSON(id)               the parsed JSON of <script type="application/json" id=...>
 *   VF.priceChart(el, data)       stepped import/export prices over time, in the site's zone
 *                                 data: {x: [epoch s], IMPORT: [..], EXPORT: [..], tz, currency}
 *   VF.savingsChart(el, data)     grouped bars (import cost, supplied value, export earnings)
 *                                 and a line of savings per bucket
 *                                 data: {labels: [..], import_cost, supplied_value,
 *                                        export_earnings, savings, currency}
 * Both charts follow the width of their element. The y axis is 60 px wide so that negative
 * values' labels are not clipped.
 */
(function () {
  "use strict";
  var COLORS = {
    import: "#c0392b",
    export: "#0a7d5a",
    supplied: "#2e86c1",
    savings: "#10202e",
  };

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function widthOf(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width) || 600);
  }

  function follow(el, chart) {
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        chart.setSize({ width: widthOf(el), height: chart.height });
      }, 100);
    });
    el.__uplot = chart;
    return chart;
  }

  // Values and tick labels with the reader's marks, not the browser's (clock.js).
  function fixed(digits) {
    return VF.legendValue(digits);
  }

  function axisValues(digits) {
    return VF.axisValues(digits);
  }

  function priceChart(el, data) {
    if (!el || !data || !data.x || data.x.length < 2) return null;
    var tz = data.tz;
    var stepped = uPlot.paths.stepped({ align: 1 });
    var opts = {
      width: widthOf(el),
      height: 260,
      tzDate: VF.tzDate(tz),
      scales: { x: { time: true } },
      axes: [
        { values: VF.timeAxis() },
        { size: 60, label: data.currency + "/kWh", values: axisValues(2) },
      ],
      series: [
        {},
        {
          label: VF.word("import_price", "Import price"),
          stroke: COLORS.import,
          width: 2,
          paths: stepped,
          points: { show: false },
          value: fixed(4),
        },
        {
          label: VF.word("export_price", "Export price"),
          stroke: COLORS.export,
          width: 2,
          paths: stepped,
          points: { show: false },
          value: fixed(4),
        },
      ],
    };
    return follow(el, VF.plot(opts, [data.x, data.IMPORT, data.EXPORT], el));
  }

  function groupedBars(k, of) {
    var width = 0.8 / of;
    return uPlot.paths.bars({
      disp: {
        x0: {
          unit: 1,
          values: function (u) {
            return u.data[0].map(function (i) {
              return i - 0.4 + k * width;
            });
          },
        },
        size: {
          unit: 1,
          values: function () {
            return [width];
          },
        },
      },
    });
  }

  // Charts over labelled periods (bars at x = 0, 1, 2 ...): the x scale, the tick labels, a
  // y range that keeps zero in view, and the x values. Shared by the savings, energy and trend
  // charts.
  function indexes(labels) {
    return labels.map(function (_, i) {
      return i;
    });
  }

  function indexScale(n) {
    return {
      time: false,
      range: function () {
        return [-0.5, n - 0.5];
      },
    };
  }

  // The bars' labels on the axis and in the legend, in the reader's formats (clock.js).
  function labelTicks(labels) {
    return function (u, splits) {
      return splits.map(function (v) {
        return Number.isInteger(v) && v >= 0 && v < labels.length ? VF.periodLabel(labels[v], true) : "";
      });
    };
  }

  function labelValue(labels) {
    return function (u, v) {
      return v == null ? "–" : VF.periodLabel(labels[v]);
    };
  }

  function withZero(u, min, max) {
    return uPlot.rangeNum(Math.min(0, min), Math.max(0, max), 0.1, true);
  }

  function savingsChart(el, data) {
    if (!el || !data || !data.labels || data.labels.length === 0) return null;
    var xs = indexes(data.labels);
    var money = fixed(2);
    function bar(label, color, k) {
      return {
        label: label,
        fill: color + "cc",
        stroke: color,
        width: 0,
        paths: groupedBars(k, 3),
        points: { show: false },
        value: money,
      };
    }
    var opts = {
      width: widthOf(el),
      height: 280,
      scales: { x: indexScale(xs.length), y: { range: withZero } },
      axes: [
        {
          space: 80,
          incrs: [1, 2, 3, 5, 7, 10, 14, 20, 30, 50, 100, 200, 500],
          values: labelTicks(data.labels),
        },
        { size: 60, label: data.currency, values: axisValues(2) },
      ],
      series: [
        {
          label: VF.word("period", "Period"),
          value: labelValue(data.labels),
        },
        bar(VF.word("import_cost", "Import cost"), COLORS.import, 0),
        bar(VF.word("supplied_value", "Supplied value"), COLORS.supplied, 1),
        bar(VF.word("export_earnings", "Export earnings"), COLORS.export, 2),
        {
          label: VF.word("savings", "Savings"),
          stroke: COLORS.savings,
          width: 2,
          points: { show: true, size: 6 },
          value: money,
        },
      ],
    };
    var columns = [
      xs,
      data.import_cost,
      data.supplied_value,
      data.export_earnings,
      data.savings,
    ];
    return follow(el, VF.plot(opts, columns, el));
  }

  window.VF = Object.assign(window.VF || {}, {  // keeps clock.js's VF.tzDate, VF.timeAxis
    readJSON: readJSON,
    widthOf: widthOf,
    follow: follow,
    groupedBars: groupedBars,
    indexes: indexes,
    indexScale: indexScale,
    labelTicks: labelTicks,
    labelValue: labelValue,
    withZero: withZero,
    priceChart: priceChart,
    savingsChart: savingsChart,
  });
})();
