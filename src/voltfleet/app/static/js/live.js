/* The "Live" panel (templates/portal/_live_panel.html). Plain JS, no framework.
 *
 * Listens to the server-sent events of a site or a device (the panel's data-live-url) and shows
 * the power flows, each device's status and latest values, and the time of the last reading, in
 * the site's time zone, without reloading the page. The browser's EventSource reconnects by
 * itself when the server ends a stream (each is bounded and carries `retry:`); `event: denied`
 * means the access was withdrawn, so it stops. Text only goes in through textContent.
 */
(function () {
  "use strict";
  var panel = document.getElementById("live-panel");
  if (!panel || !window.EventSource || !window.VF || !VF.number) return;

  // Every text this script writes comes translated from the page (the JSON in #live-text,
  // written by _live_panel.html in the reader's language); a key it lacks shows as the key.
  var blob = document.getElementById("live-text");
  var T = blob ? JSON.parse(blob.textContent) : {};
  var STATUS = T.status || {};
  var LABELS = Object.assign({
    ev_current_l1_a: "L1", ev_current_l2_a: "L2", ev_current_l3_a: "L3",
    ev_voltage_l1_v: "L1", ev_voltage_l2_v: "L2", ev_voltage_l3_v: "L3"
  }, T.points || {});
  function t(key) {
    return T[key] || key;
  }

  function slot(name) {
    return panel.querySelector('[data-live="' + name + '"]');
  }
  function show(name, text) {
    var el = slot(name);
    if (el) el.textContent = text;
  }
  function badge(el, status) {
    el.className = "badge status-" + status;
    el.textContent = STATUS[status] || status.replace("_", " ");
  }

  // Numbers with the decimal and grouping marks of the formats the reader chose (clock.js's
  // VF.number: data-locale on <html>, not the page's language: a German reader with US formats
  // reads "1.25 kW" here as everywhere else on the page), and power and energy scaled for people
  // as the server's filters do (domain/quantities.py: the first unit where the figure rounds to
  // under a thousand): "1,25 MW", "9,00 MWh" with German formats.
  function num(value, decimals, upTo) {
    return VF.number(decimals, upTo)(value);
  }
  var POWER = [["kW", 1e3, 2], ["MW", 1e6, 2], ["GW", 1e9, 2]];
  var ENERGY = [["kWh", 1e3, 2], ["MWh", 1e6, 2], ["GWh", 1e9, 2]];
  function scaled(base, units) {
    var chosen = units[units.length - 1];
    for (var i = 0; i < units.length; i++) {
      var places = Math.pow(10, units[i][2]);
      if (Math.round(Math.abs(base) / units[i][1] * places) / places < 1000) {
        chosen = units[i];
        break;
      }
    }
    return num(base / chosen[1], chosen[2]) + " " + chosen[0];
  }

  function watts(w) {
    if (w == null) return "–";
    var a = Math.abs(w);
    return a >= 1000 ? scaled(a, POWER) : num(Math.round(a), 0) + " W";
  }
  function formatted(v) {
    if (v.unit === "W") return (v.value < 0 ? "−" : "") + watts(v.value);
    if (v.unit === "Wh") return scaled(v.value, ENERGY);
    if (v.unit === "fraction") return num(Math.round(v.value * 100), 0) + " %";
    return num(v.value, 0, 2) + " " + v.unit;
  }
  // The time of a reading in the site's zone on the reader's 12- or 24-hour clock.
  function clock(iso, tz) {
    return VF.time(iso, tz, true);
  }
  function newest(values) {
    return values.reduce(function (m, v) { return !m || v.ts > m ? v.ts : m; }, null);
  }

  function showFlows(f) {
    show("pv", watts(f.pv_power_w));
    show("grid", watts(f.grid_power_w));
    show("grid-label", t(f.grid_power_w > 0 ? "grid_import" : f.grid_power_w < 0 ? "grid_export" : "grid"));
    show("battery", watts(f.battery_power_w));
    show("battery-label", t(f.battery_power_w > 0 ? "battery_charging"
      : f.battery_power_w < 0 ? "battery_discharging" : "battery"));
    // on its own line under the battery's power (a leading " · " read as a stray dot)
    show("soc", f.soc == null ? "" : t("soc") + " " + num(Math.round(f.soc * 100), 0) + " %");
    show("load", watts(f.load_power_w));
    show("load-label", t(f.load_derived ? "load_calculated" : "load"));
  }

  function cell(row, text) {
    var td = document.createElement("td");
    if (text != null) td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function deviceRow(d, tz) {
    var row = document.createElement("tr");
    row.dataset.serial = d.serial;
    var link = document.createElement("a");
    link.href = "/device/" + encodeURIComponent(d.id);
    link.textContent = d.name && d.name !== d.serial ? d.name + " (" + d.serial + ")" : d.serial;
    cell(row).appendChild(link);
    var status = document.createElement("span");
    badge(status, d.status);
    cell(row).appendChild(status);
    var values = cell(row);
    values.className = "values";
    d.values.forEach(function (v) {
      var span = document.createElement("span");
      span.dataset.point = v.point;
      span.textContent = (LABELS[v.point] || v.point) + " " + formatted(v);
      values.appendChild(span);
    });
    if (!d.values.length) values.textContent = t("no_readings");
    cell(row, clock(newest(d.values), tz));
    return row;
  }

  function render(live) {
    var tz = live.timezone;
    showFlows(live.flows);
    var heading = document.getElementById("site-status");  // the site page's title badge
    if (heading && !live.device_id) badge(heading, live.site_status);
    var own = document.getElementById("device-status");  // the device page's title badge
    if (own && live.device_id && live.devices.length) badge(own, live.devices[0].status);
    var all = [];
    live.devices.forEach(function (d) { all = all.concat(d.values); });
    show("updated", clock(newest(all), tz));
    show("zone", " (" + tz + ")");
    var body = slot("devices");
    body.replaceChildren.apply(body, live.devices.map(function (d) { return deviceRow(d, tz); }));
  }

  var state = slot("state");
  var source = new EventSource(panel.dataset.liveUrl);
  source.addEventListener("live", function (e) {
    render(JSON.parse(e.data));
    state.className = "badge status-online";
    state.textContent = t("live");
  });
  source.addEventListener("denied", function (e) {
    source.close();
    state.className = "badge status-fault";
    state.textContent = t("stopped") + " " + e.data;
  });
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      state.className = "badge status-offline";
      state.textContent = t("disconnected");
    } else {
      state.className = "badge stale";
      state.textContent = t("reconnecting");
    }
  };
  window.addEventListener("pagehide", function () { source.close(); });
})();
