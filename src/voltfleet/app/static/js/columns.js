// The column chooser of a list (app/device_lists): each unticked column is hidden by its
// data-col key, and the choice is kept per user and per list in localStorage, so the list opens
// the same way next time on this browser.
(function () {
  function setup(box) {
    var table = document.getElementById(box.dataset.table);
    var store = "voltfleet.columns." + (box.dataset.user || "") + "." + box.dataset.table;
    var style = document.createElement("style");
    document.head.appendChild(style);
    var hidden = [];
    try { hidden = JSON.parse(localStorage.getItem(store) || "[]"); } catch (e) { hidden = []; }
    function apply() {
      style.textContent = hidden.map(function (k) {
        return "#" + box.dataset.table + ' [data-col="' + k.replace(/"/g, "") + '"]{display:none}';
      }).join("\n");
    }
    Array.prototype.forEach.call(box.querySelectorAll("input[type=checkbox]"), function (cb) {
      cb.checked = hidden.indexOf(cb.value) < 0;
      cb.addEventListener("change", function () {
        hidden = hidden.filter(function (k) { return k !== cb.value; });
        if (!cb.checked) hidden.push(cb.value);
        try { localStorage.setItem(store, JSON.stringify(hidden)); } catch (e) { /* private mode */ }
        apply();
      });
    });
    if (table) apply();
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details.column-chooser"), setup);
  });
})();
