/* One clock and one way of writing numbers for every script (issue 19): the zone and the
 * formats the reader chose, never the browser's.
 *
 * base.html puts the reader's format locale (iso, en-GB, en-US, de-DE) and zone on <html>; a
 * chart of a site passes the site's zone. VF.tzDate(zone) and VF.timeAxis() are given to uPlot as
 * its `tzDate` and the time axis's `values`: 12-hour clock for en-US, day before month elsewhere.
 *
 *   VF.word(key, english)         a word of the charts in the page's language (data-words)
 *   VF.number(decimals[, upTo])   a function writing a number with the reader's marks
 *                                 ("1.500,5" for de-DE, "1,500.5" for en-US)
 *   VF.time(instant, zone, seconds)  a time of day in `zone` on the reader's 12- or 24-hour clock
 *   VF.axisValues([decimals])     uPlot axis `values`: tick labels with the reader's marks (as
 *                                 many decimals as the step needs when not given)
 *   VF.legendValue(decimals[, unit])  uPlot series `value`: the hovered value, then its unit
 *   VF.legendTime()               uPlot time series `value`: date and time as the reader writes
 *   VF.periodLabel(label, short)  a bar's label ("14:00", "2026-12-06") in the reader's formats
 *   VF.plot(opts, data, el)       new uPlot(...) with the above filled in for every value axis
 *                                 and series that has none (uPlot's own defaults write numbers
 *                                 in the BROWSER's language, navigator.language), and month and
 *                                 weekday names in the reader's locale (VF.fmtDate)
 */
(function () {
  var VF = (window.VF = window.VF || {});
  var root = document.documentElement;

  VF.locale = function () {
    return root.getAttribute("data-locale") || "en-GB";
  };
  VF.zone = function () {
    return root.getAttribute("data-zone") || "UTC";
  };
  VF.tzDate = function (zone) {
    var tz = zone || VF.zone();
    return function (ts) {
      return uPlot.tzDate(new Date(ts * 1e3), tz);
    };
  };
  // The words the charts write themselves, in the page's language (portal/chart_words.py puts
  // them on <html> as data-words); the English given when a page has none.
  var words = null;
  VF.word = function (key, english) {
    if (words === null) {
      try {
        words = JSON.parse(root.getAttribute("data-words") || "{}");
      } catch (e) {
        words = {};
      }
    }
    return words[key] || english;
  };

  // "iso" writes numbers as en-GB does (app/formatting.py's babel_locale).
  VF.numberLocale = function () {
    var chosen = VF.locale();
    return chosen === "iso" ? "en-GB" : chosen;
  };

  var numberFormats = {};
  function numberFormat(decimals, upTo) {
    var most = upTo == null ? decimals : Math.max(decimals, upTo);
    var key = VF.numberLocale() + ":" + decimals + ":" + most;
    if (!numberFormats[key]) {
      var options = { minimumFractionDigits: decimals, maximumFractionDigits: most };
      try {
        numberFormats[key] = new Intl.NumberFormat(VF.numberLocale(), options);
      } catch (e) {  // a tag the browser does not know
        numberFormats[key] = new Intl.NumberFormat("en-GB", options);
      }
    }
    return numberFormats[key];
  }
  VF.number = function (decimals, upTo) {
    var format = numberFormat(decimals || 0, upTo);
    return function (value) {
      return value == null || isNaN(value) ? "–" : format.format(value);
    };
  };

  var timeFormats = {};
  VF.time = function (instant, zone, seconds) {
    if (instant == null || instant === "") return "–";
    var d = instant instanceof Date ? instant : new Date(instant);
    var twelve = VF.locale() === "en-US";
    var key = VF.numberLocale() + ":" + zone + ":" + !!seconds;
    if (!timeFormats[key]) {
      var options = {
        hour: twelve ? "numeric" : "2-digit", minute: "2-digit",
        hourCycle: twelve ? "h12" : "h23", timeZone: zone || VF.zone(),
      };
      if (seconds) options.second = "2-digit";
      try {
        timeFormats[key] = new Intl.DateTimeFormat(VF.numberLocale(), options);
      } catch (e) {  // an unknown zone: the reader's own
        options.timeZone = VF.zone();
        timeFormats[key] = new Intl.DateTimeFormat(VF.numberLocale(), options);
      }
    }
    return timeFormats[key].format(d);
  };

  // Tick labels of a value axis; without `decimals`, as many as the step between ticks needs
  // (0.5 kW steps read "0.5", "1.0"; 200 W steps read "200", "400").
  VF.axisValues = function (decimals) {
    return function (u, splits) {
      var digits = decimals;
      if (digits == null) {
        var step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
        digits = step >= 1 || !step ? 0 : Math.min(3, Math.ceil(-Math.log10(step) - 1e-9));
      }
      var format = VF.number(digits);
      return splits.map(function (v) { return v == null ? "" : format(v); });
    };
  };
  VF.legendValue = function (decimals, unit) {
    var format = VF.number(decimals);
    return function (u, v) {
      return v == null ? "–" : format(v) + (unit ? " " + unit : "");
    };
  };
  VF.legendTime = function () {
    var chosen = VF.locale();
    if (chosen === "en-US") return "{M}/{D}/{YYYY} {h}:{mm} {AA}";
    if (chosen === "de-DE") return "{DD}.{MM}.{YYYY} {HH}:{mm}";
    if (chosen === "en-GB") return "{DD}/{MM}/{YYYY} {HH}:{mm}";
    return "{YYYY}-{MM}-{DD} {HH}:{mm}";
  };
  function anyValue(u, v) {
    return VF.number(0, 4)(v);
  }
  // Month and weekday names for uPlot's {MMM}, {WWW} ... in the reader's locale (uPlot's own are
  // English), from the browser's Intl data; uPlot wants Sunday first.
  var dateNames = {};
  function namesFor(locale) {
    if (!dateNames[locale]) {
      var names = { MMMM: [], MMM: [], WWWW: [], WWW: [] };
      var long = new Intl.DateTimeFormat(locale, { month: "long", timeZone: "UTC" });
      var short = new Intl.DateTimeFormat(locale, { month: "short", timeZone: "UTC" });
      var day = new Intl.DateTimeFormat(locale, { weekday: "long", timeZone: "UTC" });
      var dy = new Intl.DateTimeFormat(locale, { weekday: "short", timeZone: "UTC" });
      for (var m = 0; m < 12; m++) {
        var first = new Date(Date.UTC(2024, m, 15));
        names.MMMM.push(long.format(first));
        names.MMM.push(short.format(first));
      }
      for (var w = 0; w < 7; w++) {
        var sunday = new Date(Date.UTC(2024, 0, 7 + w));  // 7 January 2024 was a Sunday
        names.WWWW.push(day.format(sunday));
        names.WWW.push(dy.format(sunday));
      }
      dateNames[locale] = names;
    }
    return dateNames[locale];
  }
  VF.fmtDate = function (template) {
    var names;
    try {
      names = namesFor(VF.numberLocale());
    } catch (e) {  // a tag the browser does not know: uPlot's English names
      return uPlot.fmtDate(template);
    }
    return uPlot.fmtDate(template, names);
  };

  // A bar's label as the server writes it ("14:00", "2026-12-06", "2026-12") on the reader's
  // clock and in their date order ("2:00 PM", "06.12.2026", "Dez. 2026"); `short` leaves out
  // the year of a day (an axis). "iso" readers, and any other label, get it unchanged.
  VF.periodLabel = function (label, short) {
    var chosen = VF.locale();
    if (chosen === "iso" || typeof label !== "string") return label;
    var m = /^(\d{2}):(\d{2})$/.exec(label);
    if (m) {
      if (chosen !== "en-US") return label;
      var h = parseInt(m[1], 10);
      return (h % 12 || 12) + ":" + m[2] + " " + (h < 12 ? "AM" : "PM");
    }
    m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(label);
    if (m) {
      var y = short ? "" : m[1];
      if (chosen === "en-US") return m[2] + "/" + m[3] + (short ? "" : "/" + y);
      if (chosen === "de-DE") return m[3] + "." + m[2] + "." + y;
      return m[3] + "/" + m[2] + (short ? "" : "/" + y);
    }
    m = /^(\d{4})-(\d{2})$/.exec(label);
    if (m) return VF.fmtDate("{MMM} {YYYY}")(new Date(parseInt(m[1], 10), parseInt(m[2], 10) - 1, 1));
    return label;
  };

  VF.plot = function (opts, data, el) {
    if (!opts.fmtDate) opts.fmtDate = VF.fmtDate;
    var time = !opts.scales || !opts.scales.x || opts.scales.x.time !== false;
    (opts.axes || []).forEach(function (axis, i) {
      var isTime = time && (axis.scale ? axis.scale === "x" : i === 0);
      if (!axis.values) axis.values = isTime ? VF.timeAxis() : VF.axisValues();
    });
    (opts.series || []).forEach(function (s, i) {
      if (!s.value) s.value = i === 0 && time ? VF.legendTime() : anyValue;
      if (i === 0 && time && !s.label) s.label = VF.word("time", "Time");
    });
    var chart = new uPlot(opts, data, el);
    if (el) el.__uplot = chart;  // as charts.js's follow does: tests read the ticks from it
    return chart;
  };

  VF.timeAxis = function () {
    var us = VF.locale() === "en-US";
    var de = VF.locale() === "de-DE";
    var hm = us ? "{h}:{mm} {AA}" : "{HH}:{mm}";
    var hms = us ? "{h}:{mm}:{ss} {AA}" : "{HH}:{mm}:{ss}";
    var day = us ? "{MMM} {D}" : de ? "{D}.{M}." : "{D} {MMM}";
    return [
      [3600 * 24 * 365, "{YYYY}", null, null, null, null, null, null, 1],
      [3600 * 24 * 28, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
      [3600 * 24, day, "\n{YYYY}", null, null, null, null, null, 1],
      [3600, hm, "\n" + day + " {YYYY}", null, "\n" + day, null, null, null, 1],
      [60, hm, "\n" + day + " {YYYY}", null, "\n" + day, null, null, null, 1],
      [1, hms, "\n" + day + " {YYYY}", null, "\n" + day, null, null, null, 1],
    ];
  };
})();
