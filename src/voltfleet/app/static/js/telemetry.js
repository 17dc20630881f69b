/* uPlot charts of telemetry, beside charts.js (whose VF.readJSON they use). Plain JS.
 *
 *   VF.seriesChart(el, data)   lines of a device's data points over time, in the site's zone
 *                              (the reader's clock and number marks, clock.js); data: {x: [epoch
 *                              s], tz, series: [{label, unit, values: [..]}]}; hover shows each
 *                              point's value in the legend.
 *   VF.energyChart(el, data)   grouped bars per period, one per series (click a name in the
 *                              legend to hide it); data: {labels: [..], series: [{label, color,
 *                              values}]} in kWh
 *   VF.trendChart(el, data)    bars of the fleet's monthly yield and a line of its revenue;
 *                              data: {labels, values (kWh), revenue, currency}
 *   VF.devicePicker(model, serial, page)
 *                              a model <select> narrowing a serial-number <select>; choosing a
 *                              device opens its ``page`` (chart), keeping the zoom and day, and
 *                              the data points when the model and kind stay the same
 * The y axis is 60 px wide so that negative values' labels are not clipped.
 */
(function () {
  "use strict";
  var PALETTE = ["#e0a800", "#2e86c1", "#c0392b", "#0a7d5a", "#8e44ad", "#10202e", "#d35400"];

  // Shared with the money charts (charts.js, loaded first).
  var widthOf = VF.widthOf;
  var follow = VF.follow;
  var groupedBars = VF.groupedBars;
  var indexes = VF.indexes;
  var indexScale = VF.indexScale;
  var labelTicks = VF.labelTicks;
  var withZero = VF.withZero;

  // The hovered value with the reader's marks, then its unit (clock.js).
  function fixed(digits, unit) {
    return VF.legendValue(digits, unit);
  }

  // Value axes: ticks at 1, 2 or 5 times a power of ten.
  var NICE_STEPS = [];
  for (var e = -3; e <= 7; e++) {
    [1, 2, 5].forEach(function (m) { NICE_STEPS.push(m * Math.pow(10, e)); });
  }
  // Labelled with as many decimals as the step needs, with the reader's marks (clock.js).
  var tickLabels = VF.axisValues();
  // Decimals of a hovered value per unit: the same for every value of a unit (issue 19).
  var DECIMALS = { kW: 2, kWh: 2, W: 0, Wh: 0, "%": 1, V: 1, A: 2, Hz: 2, C: 1 };

  function seriesChart(el, data) {
    if (!el || !data || !data.x || data.x.length === 0) return null;
    var tz = data.tz;
    var units = [];
    data.series.forEach(function (s) {
      if (units.indexOf(s.unit) < 0) units.push(s.unit);
    });
    var scales = { x: { time: true } };
    var axes = [{ values: VF.timeAxis(), space: 70 }];  // the reader's clock and date order
    units.forEach(function (unit, i) {
      scales[unit] = {};
      axes.push({
        scale: unit, size: 60, label: unit, side: i === 0 ? 3 : 1, grid: { show: i === 0 },
        incrs: NICE_STEPS, space: 40, values: tickLabels,
      });
    });
    var series = [{ label: VF.word("time", "Time"), value: VF.legendTime() }];
    data.series.forEach(function (s, i) {
      series.push({
        label: s.label,
        scale: s.unit,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: false,
        points: { show: data.x.length < 60 },
        value: fixed(DECIMALS.hasOwnProperty(s.unit) ? DECIMALS[s.unit] : 2, s.unit),
      });
    });
    var opts = {
      width: widthOf(el),
      height: 300,
      tzDate: VF.tzDate(tz),
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
    return follow(el, VF.plot(opts, columns, el));
  }

  function barChart(el, labels, bars, unit) {
    var xs = indexes(labels);
    var series = [
      {
        label: VF.word("period", "Period"),
        value: VF.labelValue(labels),
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
      scales: { x: indexScale(xs.length), y: { range: withZero } },
      axes: [
        {
          // room for the longest label (7 px a character), so that none overlap
          space: 10 + 7 * Math.max.apply(null, labels.map(function (l) {
            return String(VF.periodLabel(l, true)).length;
          })),
          incrs: [1, 2, 3, 4, 6, 12, 24, 50, 100],
          values: labelTicks(labels),
        },
        { size: 60, label: unit, values: VF.axisValues() },
      ],
      series: series,
    };
    var columns = [xs].concat(
      bars.map(function (b) {
        return b.values;
      })
    );
    return follow(el, VF.plot(opts, columns, el));
  }

  function energyChart(el, data) {
    if (!el || !data || !data.labels || data.labels.length === 0) return null;
    return barChart(el, data.labels, data.series, "kWh");
  }

  function trendChart(el, data) {
    if (!el || !data || !data.labels || data.labels.length === 0) return null;
    var labels = data.labels;
    var xs = indexes(labels);
    var opts = {
      width: widthOf(el),
      height: 280,
      scales: {
        x: indexScale(xs.length),
        kWh: {
          range: function (u, min, max) {
            return uPlot.rangeNum(0, Math.max(0, max), 0.1, true);
          },
        },
        money: { range: withZero },
      },
      axes: [
        { space: 40, values: labelTicks(labels) },
        { scale: "kWh", size: 60, label: "kWh", values: VF.axisValues() },
        {
          scale: "money", size: 60, label: data.currency, side: 1, grid: { show: false },
          values: VF.axisValues(),
        },
      ],
      series: [
        {
          label: VF.word("month", "Month"),
          value: VF.labelValue(labels),
        },
        {
          label: VF.word("pv_yield", "PV yield"),
          scale: "kWh",
          fill: "#e0a800cc",
          stroke: "#e0a800",
          width: 0,
          paths: groupedBars(0, 1),
          points: { show: false },
          value: fixed(1, "kWh"),
        },
        {
          label: VF.word("revenue", "Revenue"),
          scale: "money",
          stroke: "#0a7d5a",
          width: 2,
          points: { show: true, size: 6 },
          value: fixed(2, data.currency),
        },
      ],
    };
    return follow(el, VF.plot(opts, [xs, data.values, data.revenue], el));
  }

  function devicePicker(model, serial, page) {
    if (!model || !serial) return;
    var options = Array.prototype.slice.call(serial.options);
    var mine = serial.options[serial.selectedIndex];
    function open(option) {
      var query = serial.dataset.keep;
      var same = option.dataset.model === mine.dataset.model && option.dataset.kind === mine.dataset.kind;
      if (same && serial.dataset.points) {
        query += "&points=" + encodeURIComponent(serial.dataset.points);
      }
      location.href = "/device/" + encodeURIComponent(option.value) + "/" + page + "?" + query;
    }
    function narrow() {
      options.forEach(function (o) {
        o.hidden = o.dataset.model !== model.value;
      });
    }
    model.addEventListener("change", function () {
      narrow();
      var first = options.filter(function (o) {
        return o.dataset.model === model.value;
      })[0];
      if (first) open(first);
    });
    serial.addEventListener("change", function () {
      open(serial.options[serial.selectedIndex]);
    });
    narrow();
  }

  window.VF = window.VF || {};
  window.VF.seriesChart = seriesChart;
  window.VF.energyChart = energyChart;
  window.VF.trendChart = trendChart;
  window.VF.devicePicker = devicePicker;
})();
