/* The tariff editor: show the fields of the chosen tariff type, add and remove date periods and
 * time slots. Plain JS; the server reads the fields by name (p{i}_..., p{i}_{list}_{j}_...) and
 * checks everything, so the page also works without this script (all sections shown). */
(function () {
  "use strict";
  var form = document.getElementById("tariff-form");
  if (!form) return;

  function kind() {
    var manner = form.querySelector("input[name=manner]:checked");
    if (manner && manner.value === "automatic") return "market";
    return form.querySelector("select[name=kind]").value;
  }

  function refresh() {
    var k = kind();
    var manner = k === "market" ? "automatic" : "customised";
    form.setAttribute("data-kind", k);
    form.querySelectorAll("[data-show]").forEach(function (el) {
      var words = el.getAttribute("data-show").split(" ");
      el.hidden = words.indexOf(k) < 0 && words.indexOf(manner) < 0;
    });
  }

  function next(container) {
    var n = parseInt(container.getAttribute("data-next") || "0", 10);
    container.setAttribute("data-next", String(n + 1));
    return String(n);
  }

  function fromTemplate(id, values) {
    var html = document.getElementById(id).innerHTML;
    Object.keys(values).forEach(function (key) {
      html = html.split(key).join(values[key]);
    });
    var box = document.createElement("div");
    box.innerHTML = html.trim();
    return box.firstElementChild;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function dayAfter(monthDay) {
    var m = /^(\d{2})-(\d{2})$/.exec(monthDay || "");
    if (!m) return "";
    var d = new Date(Date.UTC(2024, parseInt(m[1], 10) - 1, parseInt(m[2], 10) + 1));
    return pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
  }

  function addPeriod() {
    var list = document.getElementById("period-list");
    var periods = list.querySelectorAll("fieldset.period");
    var last = periods[periods.length - 1];
    var index = next(list);
    var period = fromTemplate("period-template", { __P__: index });
    list.appendChild(period);
    period.querySelector("input[name$=_name]").value = "Period " + (periods.length + 1);
    if (last) {
      period.querySelector("input[name$=_start]").value = dayAfter(
        last.querySelector("input[name$=_end]").value
      );
      period.querySelector("input[name$=_end]").value = "12-31";
    }
    refresh();
    period.querySelector("input[name$=_name]").focus();
  }

  function addSlot(slots) {
    var rows = slots.querySelector(".slot-rows");
    var existing = rows.querySelectorAll("[data-slot]");
    var last = existing[existing.length - 1];
    var slot = fromTemplate("slot-template", {
      __P__: slots.getAttribute("data-period"),
      __L__: slots.getAttribute("data-list"),
      __S__: next(slots),
    });
    rows.appendChild(slot);
    var start = slot.querySelector("input[name$=_start]");
    start.value = last ? last.querySelector("input[name$=_end]").value : "00:00";
    slot.querySelector("input[name$=_end]").value = "00:00";
    slot.querySelector("input[name$=_price]").focus();
  }

  form.addEventListener("click", function (ev) {
    var button = ev.target.closest(
      "[data-add-period], [data-remove-period], [data-add-slot], [data-remove-slot]"
    );
    if (!button) return;
    ev.preventDefault();
    if (button.hasAttribute("data-add-period")) addPeriod();
    else if (button.hasAttribute("data-remove-period")) button.closest("fieldset.period").remove();
    else if (button.hasAttribute("data-add-slot")) addSlot(button.closest(".slots"));
    else button.closest("[data-slot]").remove();
  });

  form.addEventListener("change", function (ev) {
    if (ev.target.name === "manner" || ev.target.name === "kind") refresh();
  });

  refresh();
})();
