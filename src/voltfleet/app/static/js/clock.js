/* One clock for the charts (issue 19): the zone and the reader's formats, never the browser's.
 *
 * base.html puts the reader's format locale (en-GB, en-US, de-DE) and zone on <html>; a chart of
 * a site passes the site's zone. VF.tzDate(zone) and VF.timeAxis() are given to uPlot as its
 * `tzDate` and the time axis's `values`: 12-hour clock for en-US, day before month elsewhere.
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
