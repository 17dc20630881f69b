# ruff: noqa: F811 - the fixtures imported from test_device_settings are parameters here
"""Rough edges of the portal (issue 19, part B): a register's read time on the site's clock with
its offset, and the header's role as a readable, translated name rather than its code."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

import voltfleet.app
from tests.app.test_alarms import home
from tests.app.test_device_settings import clock, serve, world  # noqa: F401 - fixtures
from tests.app.test_money_pages import make_site, set_tariffs, sign_in
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.simulator.register_bank import RegisterBank


def test_a_registers_read_time_is_on_the_sites_clock_with_its_offset(
    client: TestClient,
    world: World,
    clock: ManualClock,
) -> None:
    ids, token = home(client, world, "GWRT1")
    inv = ids["GWRT1-INV"]
    r = client.post(
        f"/api/v1/devices/{inv}/registers/read",
        json={"keys": ["124.WChaMax"]},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    clock.advance(timedelta(seconds=3))
    bank, serials = RegisterBank(), {"GWRT1-INV", "GWRT1-BAT", "GWRT1-MTR"}
    assert serve(client, token, bank, serials, "2031-05-01T08:00:03Z") == 1

    sign_in(client, world, "om@I1")
    page = client.get(f"/device/{inv}/settings", params={"q": "WChaMax"}).text
    assert "Read at (Europe/Berlin)" in page and "Read at (UTC)" not in page
    row = page[page.index('data-key="124.WChaMax"') :]
    cell = re.search(r'<td class="read-at">([^<]*)</td>', row)
    assert cell is not None
    # 08:00:03 UTC is 10:00:03 in Berlin in May (summer time, +02:00)
    assert "10:00:03 +02:00" in cell.group(1), cell.group(1)


def test_the_header_names_the_role_in_words_and_in_the_readers_language(
    client: TestClient,
    world: World,
) -> None:
    sign_in(client, world, "om@I1")
    header = client.get("/home").text.split("</header>")[0]
    assert "O&amp;M engineer" in header and "· om<" not in header
    client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    sign_in(client, world, "admin@I1")
    header = client.get("/home", headers={"Accept-Language": "de"}).text.split("</header>")[0]
    assert "Administrator" in header and "· admin<" not in header
    sign_in(client, world, "owner@I1")
    header = client.get("/home", headers={"Accept-Language": "de"}).text.split("</header>")[0]
    assert "Eigentümer" in header or "Besitzer" in header, header[-400:]


LIVE_JS = Path(voltfleet.app.__file__).parent / "static" / "js" / "live.js"


def _live_text(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="live-text">(.*?)</script>', html, re.S)
    assert found is not None, "the live panel carries no texts for live.js"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_the_live_panel_writes_in_the_readers_language(client: TestClient, world: World) -> None:
    ids, _token = home(client, world, "GWLT1")
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    sign_in(client, world, "om@I1")
    text = _live_text(client.get(f"/site/{ids['site']}").text)
    assert text["grid_import"] == "Netzbezug"
    assert text["battery_charging"] == "Batterie lädt"
    assert text["no_readings"] == "noch keine Messwerte"
    assert text["reconnecting"] == "verbindet neu…"
    assert (text["status"]["fault"], text["status"]["unknown"]) == ("Störung", "unbekannt")
    assert text["points"]["pv_energy_wh"] == "PV-Ertrag"
    # the script itself holds no English sentence any more: it writes what the page gave it
    script = LIVE_JS.read_text()
    for english in (
        "Grid import",
        "Battery charging",
        "no readings yet",
        "reconnecting…",
        "disconnected: reload the page",
        '"stopped: "',
    ):
        assert english not in script, english


def test_a_tariffs_summary_is_in_the_readers_language(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    set_tariffs(client, w, site)
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(w, "admin@I1"))
    assert r.status_code == 200, r.text
    sign_in(client, w, "admin@I1")
    html = client.get(f"/sites/{site}/tariff?direction=IMPORT").text
    assert "1 Zeitraum, 0,10 bis 0,36875 EUR/kWh" in html  # was "1 period, 0.10 to ..."
    assert "1 period" not in html


def test_the_overview_is_the_flow_and_the_sites_actions_are_on_its_settings_tab(
    client: TestClient, world: World
) -> None:
    ids, _token = home(client, world, "GWMG1")
    sign_in(client, world, "admin@I1")
    overview = client.get(f"/site/{ids['site']}").text
    assert 'id="power-flow"' in overview and 'id="site-weather"' in overview
    for form in ("edit-site", "distribute-site", "share-site", "share-outside", "delete-site"):
        assert f'id="{form}"' not in overview, form
    assert f'href="/site/{ids["site"]}/settings"' in overview  # the function bar's Settings tab
    settings = client.get(f"/site/{ids['site']}/settings").text
    # (the picker of share-site needs another organisation in scope: I1 has none)
    for form in ("edit-site", "distribute-site", "share-outside", "delete-site"):
        assert f'id="{form}"' in settings, form
    # a form's answer stays on the tab, with its message
    csrf = re.search(r'name="csrf" value="([^"]+)"', settings)
    assert csrf is not None
    r = client.post(
        f"/site/{ids['site']}/edit",
        data={
            "csrf": csrf.group(1),
            "name": "Renamed home",
            "country": "DE",
            "timezone": "Europe/Berlin",
        },
    )
    assert r.status_code == 200, r.text
    assert "Site saved." in r.text, re.findall(r"<h1.*?</h1>|id=\"error\">[^<]*", r.text)
    assert 'id="edit-site"' in r.text
    assert 'value="Renamed home"' in r.text


def test_a_sites_form_answers_in_the_readers_language(client: TestClient, world: World) -> None:
    # the notices were English sentences built in Python, whatever the reader's language
    ids, _token = home(client, world, "GWMG2")
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "admin@I1"))
    assert r.status_code == 200, r.text
    sign_in(client, world, "admin@I1")
    settings = client.get(f"/site/{ids['site']}/settings").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', settings)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "name": "Haus", "country": "DE", "timezone": "Europe/Berlin"}
    r = client.post(f"/site/{ids['site']}/edit", data=form)
    assert 'id="notice">Anlage gespeichert.<' in r.text
    r = client.post(f"/site/{ids['site']}/share", data={"csrf": csrf.group(1), "org_id": ""})
    assert "Wählen Sie die Organisation, mit der geteilt werden soll" in r.text
