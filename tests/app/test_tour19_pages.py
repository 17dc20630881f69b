"""The last walk through the portal (issue 19, tour19) as a German installer and a utility's
customer would take it: what they tripped over on the device pages and the virtual battery's.

- the charger's OCPP card named its commands by their wire codes ("set charging profile") on a
  German page, and its fifty-frame message log made the page 7,600 px tall (18,000 on a phone):
  the log is now folded, its size in the summary;
- the settings' register column read "Registrieren" (the verb of the sign-up page's msgid);
  the device menu and the mode page named device kinds by their codes ("meter");
- the virtual battery's load profile was headed with an ISO date, and a day without readings
  showed a heading over nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as NS

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alarms import home
from tests.app.test_money_pages import sign_in
from tests.app.test_telemetry import h
from tests.app.test_virtual_battery import DAY0, Utility, counters
from tests.support.world import PASSWORD, World, build_world
from voltfleet.app import formatting, i18n
from voltfleet.app.portal.render import templates
from voltfleet.app.runtime import Runtime
from voltfleet.protocols.ocpp.commands import ACTIONS


@pytest.fixture
def reader() -> Iterator[None]:
    token = formatting._current.set(None)
    yield
    formatting._current.reset(token)
    i18n.use_language("en")


def ocpp_card(messages: list[NS]) -> str:
    from voltfleet.app.charging.ocpp_words import action_word

    device = NS(id="c1", site_id="s1", timezone="Europe/Berlin", kind="charger")
    return templates.env.get_template("portal/_charger_ocpp.html").render(
        device=device,
        version="1.6",
        messages=messages,
        actions=ACTIONS,
        action_word=action_word,
        can_command=True,
        can_edit_tags=False,
        tags=[],
        tag_defaults={},
        csrf="x",
        action="",
        params="{}",
    )


def test_the_ocpp_card_names_its_commands_in_german_and_folds_its_log(reader: None) -> None:
    formatting.use_preferences("de")
    at = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    frames = [NS(at=at, direction="in", text=f'[2,"{k}","MeterValues",{{}}]') for k in range(50)]
    html = ocpp_card(frames)
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]*)</option>', html))
    assert options["set_charging_profile"] == "Ladeprofil setzen"
    assert options["unlock"] == "Anschluss entriegeln"
    assert set(options) == set(ACTIONS)  # the value the endpoint reads stays the code
    assert not [w for w in options.values() if "_" in w or w.startswith(("set ", "get "))]
    fold = re.search(r'<details id="ocpp-log-fold">\s*<summary>(.*?)</summary>', html, re.S)
    assert fold and "Nachrichtenprotokoll (50 Nachrichten)" in fold.group(1), html[-3000:]
    assert 'id="ocpp-log"' in html.split('<details id="ocpp-log-fold">')[1]
    empty = ocpp_card([])
    assert "ocpp-log-fold" not in empty and "Noch keine Nachrichten" in empty


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_device_pages_name_kinds_and_the_register_column_in_german(
    client: TestClient, world: World
) -> None:
    ids, _ = home(client, world, "GWT19")
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    sign_in(client, world, "om@I1")
    page = client.get(f"/site/{ids['site']}/settings", params={"device": ids["GWT19-MTR"]}).text
    head = page.split('id="settings-search"')[1]
    assert ">Zähler GWT19-MTR<" in head and ">meter GWT19-MTR<" not in head
    assert "<th>Modbus-Register</th>" in page and "Registrieren" not in page
    mode = client.get(f"/device/{ids['GWT19-MTR']}/mode").text
    note = re.search(r'id="mode-not-inverter">([^<]*)<', mode)
    assert note and note.group(1).endswith("ein(e) Zähler."), note


def test_the_load_profile_is_dated_as_the_reader_writes_and_says_why_it_is_empty(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    u = Utility(client, runtime, world)
    readings, _, _ = counters(DAY0, 1000.0, 5000.0, f"{u.anna['gw']}-MTR")
    u.ingest(u.anna, readings)
    r = u.create(u.anna, 5, DAY0)
    assert r.status_code == 201, r.text
    bid = r.json()["id"]
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "owner@U"))
    assert r.status_code == 200, r.text
    client.cookies.clear()
    r = client.post(
        "/login", data={"email": "anna@example.com", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    page = client.get(f"/virtual-batteries/{bid}", params={"day": DAY0.isoformat()}).text
    assert f"Lastprofil vom {DAY0:%d.%m.%Y}</h2>" in page, page
    # the live panel's time on the site's clock, as the ledger's hours (was the reader's zone)
    r = client.patch(
        "/api/v1/me", json={"timezone": "America/New_York"}, headers=h(world, "owner@U")
    )
    assert r.status_code == 200, r.text
    for html in (
        client.get(f"/virtual-batteries/{bid}").text,
        client.get(f"/virtual-batteries/{bid}/live").text,
    ):
        at = re.search(r'id="vb-live".*?<span class="muted">([^<]*)</span>', html, re.S)
        assert at and at.group(1).endswith(("+01:00", "+02:00")), at
    svg = re.search(r'<svg id="level-chart"[^>]*>', page)
    assert svg and "max-width:100%" in svg.group(0) and "Füllstand im Tagesverlauf" in svg.group(0)
    # the list: the battery's capacity, not a PV system's "Leistung (kWp)" of the site list
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "admin@U"))
    assert r.status_code == 200, r.text
    client.cookies.clear()
    r = client.post(
        "/login",
        data={"email": "admin.u@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    listing = client.get("/virtual-batteries").text
    assert '<th class="num">Speicherkapazität</th>' in listing and "kWp" not in listing
    assert '<label class="check"><input type="checkbox" name="reset_yearly"' in listing
    later = (DAY0 + timedelta(days=40)).isoformat()
    empty = client.get(f"/virtual-batteries/{bid}", params={"day": later}).text
    assert 'id="level-chart"' not in empty and 'id="no-profile"' in empty
    assert "kein Füllstand erfasst" in empty


def test_the_power_screen_and_the_chargers_card_speak_german(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    """Were 'Modus: solar balancing', 'suspended evse', 'Three phase, 400 V (with neutral)' and
    'meter PWR-MTR' on a German page."""
    from tests.app.test_power import connector_of, make_site, set_status
    from tests.app.test_sites import portal_login

    ids = make_site(client, world)
    base = f"/api/v1/sites/{ids['site']}/power"
    setup = {"grid_type": "3x400", "main_fuse_a": 25, "meter_device_id": ids["PWR-MTR"]}
    assert client.put(base, json=setup, headers=h(world, "admin@I1")).status_code == 200
    root = client.get(base, headers=h(world, "admin@I1")).json()["groups"][0]
    ca = connector_of(runtime, ids["PWR-A"])
    r = client.put(
        f"{base}/connectors/{ca}", json={"group_id": root["id"]}, headers=h(world, "om@I1")
    )
    assert r.status_code == 200, r.text
    r = client.patch(
        f"{base}/settings", json={"mode": "solar_balancing"}, headers=h(world, "om@I1")
    )
    assert r.status_code == 200, r.text
    set_status(runtime, ids["PWR-A"], "suspended_evse")
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    portal_login(client, "om.i1@example.com")

    page = client.get(f"/sites/{ids['site']}/power?done=group").text
    summary = re.search(r'id="power-summary">([^<]*)', page)
    assert summary and summary.group(1).startswith("Modus: Solarausgleich"), summary
    row = re.search(rf'data-connector="{ca}"[^>]*>\s*<td>[^<]*</td>\s*<td>([^<]*)<', page)
    assert row and row.group(1).strip() == "von der Wallbox pausiert", row
    assert "Dreiphasig, 400 V (mit Neutralleiter)" in page and "Three phase" not in page
    assert ">Solarausgleich</option>" in page and "Solar balancing" not in page
    assert "Zähler PWR-MTR" in page and "meter PWR-MTR" not in page
    assert "Gruppe gespeichert." in page
    live = client.get(f"/sites/{ids['site']}/power/live").text
    assert "Modus: Solarausgleich" in live and "von der Wallbox pausiert" in live
    chargers = client.get(f"/site/{ids['site']}/chargers").text
    assert "von der Wallbox pausiert" in chargers and "suspended" not in chargers
    device = client.get(f"/device/{ids['PWR-A']}").text
    assert re.search(r"<li>1: [^<]* · von der Wallbox pausiert</li>", device), device[-2500:]


def test_a_devices_readings_name_their_points_and_count_in_the_readers_marks(
    client: TestClient, world: World
) -> None:
    """The data table's columns were the stored names ('battery_power_w (W)') and its pager
    said '1 bis 500 von 1030' on a German page."""
    from tests.app.test_energy_page_formats import prefer
    from tests.app.test_site_pages import login
    from tests.app.test_telemetry import bearer, iso, make_site, token_for
    from tests.app.test_telemetry_read import DAY, T0

    ids = make_site(client, world, "GWD19")
    token = token_for(client, world, ids["GWD19"])
    for batch in range(3):
        readings = [
            {
                "device": "GWD19-INV",
                "point": "pv_power_w",
                "ts": iso(T0 + timedelta(minutes=batch * 400 + k)),
                "value": 1500.0,
                "unit": "W",
            }
            for k in range(400)
        ]
        r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(token))
        assert r.status_code == 200 and r.json()["quarantined"] == 0, r.text
    prefer(client, world, language="de")
    login(client, "om.i1@example.com")
    end = (DAY + timedelta(days=1)).isoformat()
    params = {"points": "pv_power_w", "start": DAY.isoformat(), "end": end}
    html = client.get(f"/device/{ids['GWD19-INV']}/data", params=params).text
    head = html.split('id="data-table"')[1].split("</thead>")[0]
    # the name people read, the stored name (as the CSV's column) and the unit beside it
    assert '<th class="num">PV-Leistung <span class="point-code">pv_power_w (W)</span></th>' in head
    count = re.search(r'id="row-count">([^<]*)<', html)
    assert count and count.group(1).startswith("Zeilen 1 bis 500 von 1.200"), count
    picker = html.split('id="points-reported"')[1].split("</div>")[0]
    assert "PV-Leistung" in picker and "pv_power_w" in picker  # the code beside the name


def test_a_devices_type_battery_modes_and_counters_in_german(
    client: TestClient, world: World
) -> None:
    """Were 'inverter · hybrid', 'self consumption' and 'pv_energy_wh' on a German page."""
    from tests.app.test_energy_page_formats import prefer
    from tests.app.test_site_pages import login
    from tests.app.test_telemetry import make_site

    ids = make_site(client, world, "GWK19")
    inv = ids["GWK19-INV"]
    prefer(client, world, language="de")
    login(client, "om.i1@example.com")
    page = client.get(f"/device/{inv}").text
    kind = re.search(r"<dt>Typ</dt><dd>([^<]*)</dd>", page)
    assert kind and kind.group(1) == "Wechselrichter · Hybrid (mit Batterie)", kind
    commands = client.get(f"/device/{inv}/commands").text
    modes = dict(re.findall(r'<option value="([a-z_]+)">([^<]*)</option>', commands))
    assert modes["self_consumption"] == "Eigenverbrauch" and modes["discharge"] == "entladen"
    restarts = client.get(f"/device/{inv}/counter-restarts").text
    counters = dict(re.findall(r'<option value="([a-z_]+)">([^<]*)</option>', restarts))
    assert counters["pv_energy_wh"] == "PV-Ertrag (pv_energy_wh)", counters


def test_a_devices_energy_names_its_counters_in_german(client: TestClient, world: World) -> None:
    """Were 'PV yield (kWh)', 'lifetime_yield_wh (kWh)' and 'inverter · …' on a German page."""
    from tests.app.test_energy_page_formats import prefer
    from tests.app.test_site_pages import login
    from tests.app.test_telemetry import bearer, iso, make_site, token_for
    from tests.app.test_telemetry_read import DAY, T0

    ids = make_site(client, world, "GWE19")
    token = token_for(client, world, ids["GWE19"])
    readings = [
        {
            "device": "GWE19-INV",
            "point": point,
            "ts": iso(T0 + timedelta(hours=k)),
            "value": 1000.0 * (k + 1) + offset,
            "unit": "Wh",
        }
        for k in range(3)
        for point, offset in (("pv_energy_wh", 0.0), ("lifetime_yield_wh", 5e6))
    ]
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["quarantined"] == 0, r.text
    prefer(client, world, language="de")
    login(client, "om.i1@example.com")
    html = client.get(f"/device/{ids['GWE19-INV']}/energy", params={"day": DAY.isoformat()}).text
    tiles = re.findall(r'data-total="([a-z_]+)">[^<]*</span><span>([^<]*)</span>', html)
    assert dict(tiles) == {
        "pv_energy_wh": "PV-Ertrag (kWh)",
        "lifetime_yield_wh": "Gesamtertrag (kWh)",
    }, tiles
    assert "lifetime_yield_wh kWh" not in html and "PV yield" not in html
    assert ">Wechselrichter · GWE19-INV" in html and ">inverter · " not in html
