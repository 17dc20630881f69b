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
  if (!panel || !window.EventSource) return;

  var LABELS = {
    pv_power_w: "PV", grid_power_w: "Grid", battery_power_w: "Battery", load_power_w: "Load",
    ev_power_w: "EV", ac_power_w: "AC", soc: "SoC", pv_energy_wh: "PV yield",
    grid_import_energy_wh: "Imported", grid_export_energy_wh: "Exported",
    battery_charge_energy_wh: "Charged", battery_discharge_energy_wh: "Discharged",
    load_energy_wh: "Consumed", ev_energy_wh: "EV energy", grid_frequency_hz: "Frequency",
    grid_voltage_v: "Grid voltage", device_status: "State code", ev_soc: "EV SoC",
    ev_current_a: "EV current", ev_current_l1_a: "L1", ev_current_l2_a: "L2",
    ev_current_l3_a: "L3", ev_voltage_v: "EV voltage", ev_voltage_l1_v: "L1",
    ev_voltage_l2_v: "L2", ev_voltage_l3_v: "L3", grid_current_a: "Grid current",
    pv_voltage_v: "PV voltage", battery_voltage_v: "Battery voltage",
    battery_temperature_c: "Battery", inverter_temperature_c: "Inverter"
  };

  function slot(name) {
    return panel.querySelector('[data-live="' + name + '"]');
  }
  function show(name, text) {
    var el = slot(name);
    if (el) el.textContent = text;
  }
  function badge(el, status) {
    el.className = "badge status-" + status;
    el.textContent = status.replace("_", " ");
  }

  function watts(w) {
    if (w == null) return "–";
    var a = Math.abs(w);
    return a >= 1000 ? (a / 1000).toFixed(2) + " kW" : Math.round(a) + " W";
  }
  function formatted(v) {
    if (v.unit === "W") return (v.value < 0 ? "−" : "") + watts(v.value);
    if (v.unit === "Wh") return (v.value / 1000).toFixed(1) + " kWh";
    if (v.unit === "fraction") return Math.round(v.value * 100) + " %";
    return Number(v.value.toFixed(2)) + " " + v.unit;
  }
  function clock(iso, tz) {
    if (!iso) return "–";
    var d = new Date(iso);
    try {
      return d.toLocaleTimeString("en-GB", { timeZone: tz, hour12: false });
    } catch (e) {  // an unknown zone: the browser's own
      return d.toLocaleTimeString("en-GB", { hour12: false });
    }
  }
  function newest(values) {
    return values.reduce(function (m, v) { return !m || v.ts > m ? v.ts : m; }, null);
  }

  function showFlows(f) {
    show("pv", watts(f.pv_power_w));
    show("grid", watts(f.grid_power_w));
    show("grid-label", f.grid_power_w > 0 ? "Grid import" : f.grid_power_w < 0 ? "Grid export" : "Grid");
    show("battery", watts(f.battery_power_w));
    show("battery-label", f.battery_power_w > 0 ? "Battery charging"
      : f.battery_power_w < 0 ? "Battery discharging" : "Battery");
    show("soc", f.soc == null ? "" : " · SoC " + Math.round(f.soc * 100) + " %");
    show("load", watts(f.load_power_w));
    show("load-label", f.load_derived ? "Load (calculated)" : "Load");
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
    if (!d.values.length) values.textContent = "no readings yet";
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
    state.textContent = "live";
  });
  source.addEventListener("denied", function (e) {
    source.close();
    state.className = "badge status-fault";
    state.textContent = "stopped: " + e.data;
  });
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      state.className = "badge status-offline";
      state.textContent = "disconnected: reload the page";
    } else {
      state.className = "badge stale";
      state.textContent = "reconnecting…";
    }
  };
  window.addEventListener("pagehide", function () { source.close(); });
})();
