"""An inverter's Mode page (issue 15): the forms send work_mode, intelligent_load and
power_switch commands, the gateway fetches and answers them, and the page shows the mode the
inverter reports (not only the one sent). Wrong tables are refused with the field named; owners
only look."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_alarms import home
from tests.app.test_commissioning import pdf_text
from tests.app.test_device_settings import poll, reply
from tests.app.test_money_pages import csrf_of, sign_in
from tests.app.test_telemetry import h, token_for
from tests.support.world import World, build_world
from voltfleet.app.firmware import commissioning
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.simulator import commands as sim
from voltfleet.simulator.model import BatterySpec
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device

START = datetime(2031, 1, 15, 8, 0, tzinfo=UTC)
BATTERY = BatterySpec(10_000.0, 5000.0, 5000.0, 0.9, 0.1, 0.95)


@pytest.fixture
def clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock(START)
    monkeypatch.setattr(runtime, "clock", manual)
    return manual


@pytest.fixture
def world(client: TestClient, runtime: Runtime, clock: ManualClock) -> World:
    return build_world(runtime)


def tou_form(csrf: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "mode": "tou",
        "grid_charge": "on",
        "grid_charge_kw": "3,5",
        "grid_charge_start": "23:00",
        "grid_charge_end": "05:00",
        "feed_in_limit_kw": "6",
        "holidays": "weekend",
        "season0_name": "Winter",
        "season0_from": "10-01",
        "season0_to": "03-31",
        "season0_weekday": "17:00-21:00 full_feed_in",
        "season0_weekend": "",
        "season1_from": "04-01",
        "season1_to": "09-30",
        "season1_weekday": "06:00-10:00 pv, 18:00-24:00 full_feed_in",
    }


def answer(client: TestClient, token: str, serials: set[str]) -> list[dict[str, Any]]:
    """The simulated gateway's poll: each command answered as the simulated inverter does."""
    got = poll(client, token)
    for c in got:
        out = sim.interpret(c, BATTERY, serials)
        r = reply(client, token, c["id"], out.reply())
        assert r.status_code == 200, r.text
    return got


def test_tou_mode_round_trip_and_the_reported_mode(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWM")
    inv = ids["GWM-INV"]
    sign_in(client, world, "om@I1")
    page = client.get(f"/device/{inv}/mode")
    assert page.status_code == 200 and "not reported yet" in page.text
    r = client.post(
        f"/device/{inv}/mode", data=tou_form(csrf_of(page.text)), follow_redirects=False
    )
    assert r.status_code == 303 and "notice=" in r.headers["location"], r.headers["location"]
    with runtime.db.session() as s:
        cmd = s.scalars(select(Command).where(Command.kind == "work_mode")).one()
        tou = cmd.params["tou"]
        assert cmd.params["mode"] == "tou"
        assert tou["grid_charge_power_w"] == 3500 and tou["feed_in_limit_w"] == 6000
        assert tou["seasons"][1]["name"] == "Season 2"
        assert tou["seasons"][1]["weekday"] == [
            {"start": "06:00", "end": "10:00", "mode": "pv"},
            {"start": "18:00", "end": "24:00", "mode": "full_feed_in"},
        ]
    page = client.get(f"/device/{inv}/mode")
    assert 'id="mode-pending"' in page.text  # sent, not answered yet
    clock.advance(timedelta(seconds=5))
    got = answer(client, token, {"GWM-INV", "GWM-BAT"})
    assert [c["kind"] for c in got] == ["work_mode"]
    page = client.get(f"/device/{inv}/mode")
    assert 'id="mode-pending"' not in page.text
    reported = page.text.split('id="mode-reported">')[1].split("</dd>")[0]
    assert "TOU mode" in reported and "2031-01-15 09:00 +01:00" in reported  # Berlin time
    # the form comes back filled with the table sent
    assert 'value="06:00-10:00 pv, 18:00-24:00 full_feed_in"' in page.text

    # the relay and the power switch
    csrf = csrf_of(page.text)
    r = client.post(
        f"/device/{inv}/intelligent-load",
        data={
            "csrf": csrf,
            "load_mode": "battery",
            "on_above_soc_pct": "85",
            "off_below_soc_pct": "55",
        },
        follow_redirects=False,
    )
    assert "notice=" in r.headers["location"]
    r = client.post(
        f"/device/{inv}/power", data={"csrf": csrf, "on": "false"}, follow_redirects=False
    )
    assert "notice=" in r.headers["location"]
    got = answer(client, token, {"GWM-INV", "GWM-BAT"})
    assert sorted(c["kind"] for c in got) == ["intelligent_load", "power_switch"]
    page = client.get(f"/device/{inv}/mode")
    assert "Battery energy control" in page.text.split('id="load-state">')[1].split("</dd>")[0]
    assert page.text.split('id="power-state">')[1].startswith("off")


def test_a_wrong_table_is_refused_with_its_field_and_nothing_is_sent(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = home(client, world, "GWX")
    inv = ids["GWX-INV"]
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{inv}/mode").text)
    cases = {
        "season0_weekday": ("17:00-16:00 pv", "end after it starts"),
        "grid_charge_kw": ("10.5", "0..10000"),
        "season1_weekday": ("six to ten pv", "must look like 00:00-06:00"),
        "season1_from": ("03-01", "overlaps"),
    }
    for field, (value, words) in cases.items():
        form = {**tou_form(csrf), field: value}
        r = client.post(f"/device/{inv}/mode", data=form)
        assert r.status_code == 200 and words in r.text, (field, r.text[:300])
    with runtime.db.session() as s:
        assert s.scalars(select(Command)).all() == []


def test_owners_look_but_do_not_send(client: TestClient, world: World, runtime: Runtime) -> None:
    ids, _ = home(client, world, "GWO")
    inv = ids["GWO-INV"]
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{inv}/mode").text)
    sign_in(client, world, "owner@I1")
    r = client.post(
        f"/device/{inv}/mode", data={"csrf": csrf, "mode": "pv"}, follow_redirects=False
    )
    assert r.status_code in (303, 403, 404)
    with runtime.db.session() as s:
        assert s.scalars(select(Command)).all() == []
    meter = client.get(f"/device/{ids['GWO-MTR']}/mode")
    assert meter.status_code in (200, 404)


def italian_home(client: TestClient, world: World) -> tuple[str, str]:
    r = client.post(
        "/api/v1/sites",
        json={"name": "Casa", "country": "IT", "gateway": {"serial": "GWI"}},
        headers=world.accounts["admin@I1"].headers(),
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    r = client.post(
        f"/api/v1/sites/{site}/devices",
        json={"kind": "inverter", "serial": "GWI-INV", "parent_serial": "GWI"},
        headers=world.accounts["admin@I1"].headers(),
    )
    assert r.status_code == 201, r.text
    inv = r.json()["id"]
    r = client.get("/api/v1/devices", params={"site_id": site}, headers=h(world, "om@I1"))
    gw = next(d["id"] for d in r.json()["items"] if d["serial"] == "GWI")
    return inv, token_for(client, world, gw)


def test_autotest_conditions_progress_and_the_judged_report(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    inv, token = italian_home(client, world)
    sign_in(client, world, "om@I1")
    page = client.get(f"/device/{inv}/autotest")
    assert page.status_code == 200 and 'id="autotest-form"' in page.text
    csrf = csrf_of(page.text)
    # not every condition confirmed: refused, nothing sent
    r = client.post(
        f"/device/{inv}/autotest",
        data={"csrf": csrf, "condition": ["grid_connected"], "agreement": "on"},
    )
    assert "confirm the test conditions first" in r.text
    with runtime.db.session() as s:
        assert s.scalars(select(Command)).all() == []
    r = client.post(
        f"/device/{inv}/autotest",
        data={
            "csrf": csrf,
            "condition": ["grid_connected", "loads_safe", "installer_present"],
            "agreement": "on",
        },
    )
    assert 'id="autotest-running"' in r.text and 'id="autotest-form"' not in r.text
    clock.advance(timedelta(seconds=4))
    got = answer(client, token, {"GWI-INV"})
    assert [c["kind"] for c in got] == ["autotest"]
    page = client.get(f"/device/{inv}/autotest")
    assert page.text.split('id="autotest-verdict">')[1].startswith("Passed")
    assert page.text.count("data-step=") == 8
    assert "2031-01-15 09:00 +01:00" in page.text  # Rome time
    csv = client.get(f"/device/{inv}/autotest.csv")
    assert csv.status_code == 200
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("# CEI 0-21 AutoTest of GWI-INV")
    assert len(lines) == 10 and all(",pass," in line for line in lines[2:])


def test_autotest_is_only_offered_in_italy(client: TestClient, world: World) -> None:
    ids, _ = home(client, world, "GWD")  # a German home
    sign_in(client, world, "om@I1")
    page = client.get(f"/device/{ids['GWD-INV']}/autotest")
    assert 'id="autotest-unavailable"' in page.text and 'id="autotest-form"' not in page.text
    r = client.post(
        f"/device/{ids['GWD-INV']}/autotest",
        data={
            "csrf": csrf_of(page.text),
            "condition": ["grid_connected", "loads_safe", "installer_present"],
            "agreement": "on",
        },
    )
    assert "only available for sites in Italy" in r.text


def test_an_autotest_run_is_judged_in_the_commissioning_report(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    inv, token = italian_home(client, world)
    r = client.post(
        f"/api/v1/devices/{inv}/commands",
        json={"kind": "autotest", "params": {"standard": "CEI 0-21"}},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    got = poll(client, token)
    out = sim.interpret(got[0], None, {"GWI-INV"}).reply()
    out["details"]["steps"][1]["value"] = 270.0  # 59.S2 tripped far above its threshold
    assert reply(client, token, got[0]["id"], out).status_code == 200
    with runtime.db.session() as s:
        site_id = s.get(Device, inv).site_id
    r = client.post(
        f"/api/v1/sites/{site_id}/commissioning-reports",
        json={"name": "Commissioning", "device_ids": [inv]},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    assert commissioning.generate(runtime.db, r.json()["id"], clock.now()) == "finished"
    pdf = client.get(
        f"/api/v1/commissioning-reports/{r.json()['id']}/pdf", headers=h(world, "om@I1")
    )
    text = pdf_text(pdf.content)
    for expected in ("59.S1", "253.00 V", "81<.S2", "FAIL: tripped at 270 V", "overall"):
        assert expected in text, f"{expected!r} not in the PDF:\n{text}"


def test_the_api_refuses_autotest_outside_italy(client: TestClient, world: World) -> None:
    ids, _ = home(client, world, "GWAPI")  # a German home
    r = client.post(
        f"/api/v1/devices/{ids['GWAPI-INV']}/commands",
        json={"kind": "autotest", "params": {"standard": "CEI 0-21"}},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 422 and "only available for sites in Italy" in r.json()["detail"]
