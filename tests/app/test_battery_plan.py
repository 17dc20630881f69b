"""The placeholder day plan through the API and the portal: made from the site's prices, queued as
timed battery_mode commands (one per change), replacing an earlier plan's queued commands;
plan against reported power; the device page's command form and history."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alarms import home
from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, h, iso
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.demo import TOU_IMPORT


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def site_with_tariff(client: TestClient, world: World, gw: str) -> tuple[dict[str, str], str]:
    ids, token = home(client, world, gw)
    r = client.put(
        f"/api/v1/sites/{ids['site']}/tariffs/IMPORT",
        json={"valid_from": "2020-01-01", **TOU_IMPORT},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code in (200, 201), r.text
    return ids, token


def evening_start() -> datetime:
    """The latest 20:00 UTC: a day's plan from there has the cheap night (0.24) ahead of the
    dear evening (0.41), whatever time the test runs, and its commands still reach now (from
    early morning, the cheap hours would lie behind the dear ones, and a plan has no reason to
    charge for after its end)."""
    now = datetime.now(UTC)
    start = now.replace(hour=20, minute=0, second=0, microsecond=0)
    return start if start <= now else start - timedelta(days=1)


def test_a_plan_becomes_timed_commands_and_replaces_the_previous_one(
    client: TestClient, world: World
) -> None:
    ids, token = site_with_tariff(client, world, "GWP1")
    body = {
        "capacity_kwh": 10,
        "soc_now": 0.1,
        "max_charge_w": 4000,
        "max_discharge_w": 4000,
        "round_trip_efficiency": 0.9,
        "start_time": iso(evening_start()),
        "follow_home": False,  # the planned powers as setpoints (the default follows the home)
    }
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan", json=body, headers=h(world, "om@I1")
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["device_id"] == ids["GWP1-BAT"] and plan["currency"] == "EUR"
    modes = {i["mode"] for i in plan["intervals"]}
    assert "charge" in modes and "discharge" in modes  # 0.24 at night vs 0.41 in the evening
    # charging happens in the cheapest (night) price
    assert all(i["price_per_kwh"] == 0.24 for i in plan["intervals"] if i["mode"] == "charge")
    assert all(i["price_per_kwh"] >= 0.33 for i in plan["intervals"] if i["mode"] == "discharge")
    cmds = plan["commands"]
    assert cmds and all(c["source"] == "plan" and c["kind"] == "battery_mode" for c in cmds)
    for a, b in itertools.pairwise(cmds):
        assert a["expires_at"] == b["not_before"]  # back to back, one per change
    # only the one due now goes to the gateway
    due = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    assert [c["id"] for c in due] == [cmds[0]["id"]]
    # a new plan replaces the queued commands of the old one
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan", json=body, headers=h(world, "om@I1")
    )
    assert r.status_code == 201
    page = client.get(
        f"/api/v1/devices/{ids['GWP1-BAT']}/commands?page_size=500", headers=h(world, "om@I1")
    ).json()["items"]
    replaced = [c for c in page if c["message"] == "replaced by a newer plan"]
    assert len(replaced) == len(cmds) - 1 and all(c["state"] == "expired" for c in replaced)
    window = {
        "start_time": body["start_time"],
        "end_time": iso(datetime.now(UTC) + timedelta(days=2)),
    }
    got = client.get(
        f"/api/v1/sites/{ids['site']}/battery-plan", params=window, headers=h(world, "om@I1")
    ).json()  # the whole plan (the default window is 12 hours either side of now)
    assert got["device_id"] == ids["GWP1-BAT"] and len(got["commands"]) >= len(cmds)


def test_plan_errors(client: TestClient, world: World) -> None:
    ids, _ = home(client, world, "GWP2")  # no tariff
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={"capacity_kwh": 10, "max_charge_w": 3000, "max_discharge_w": 3000},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 409 and "IMPORT tariff" in r.json()["detail"]
    ids, _ = site_with_tariff(client, world, "GWP3")
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={"capacity_kwh": 10},  # no power given and the battery has no rated power
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 422 and "max_charge_w" in r.json()["detail"]
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={"capacity_kwh": -1},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 422


def test_portal_command_form_history_and_plan_table(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = site_with_tariff(client, world, "GWP4")
    email = next(a.email for k, a in world.accounts.items() if k == "om@I1")
    csrf = login(client, email)
    page = client.get(f"/device/{ids['GWP4-BAT']}")
    assert 'id="device-commands"' in page.text
    assert 'id="device-commands"' not in client.get(f"/device/{ids['GWP4-MTR']}").text
    frag = client.get(f"/device/{ids['GWP4-BAT']}/commands")
    assert 'id="command-form"' in frag.text and "No commands yet" in frag.text
    r = client.post(
        f"/device/{ids['GWP4-BAT']}/commands",
        data={"csrf": csrf, "mode": "discharge", "power_w": "-1500", "ttl_s": "300"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "queued" in r.text and "-1500 W" in r.text, r.text
    r = client.post(
        f"/device/{ids['GWP4-BAT']}/commands",
        data={"csrf": csrf, "mode": "discharge", "power_w": "1500"},
        headers={"HX-Request": "true"},
    )
    assert 'id="command-error"' in r.text and "discharge needs battery_power_w &lt; 0" in r.text
    r = client.post(
        f"/device/{ids['GWP4-BAT']}/commands",
        data={"csrf": "wrong", "mode": "idle"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 403
    # the gateway takes it and answers: the history shows it
    got = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    client.post(
        f"/api/v1/gateway/commands/{got[0]['id']}/reply",
        json={"status": "acknowledged", "message": "discharging"},
        headers=bearer(token),
    )
    frag = client.get(f"/device/{ids['GWP4-BAT']}/commands")
    assert "acknowledged" in frag.text and "discharging" in frag.text
    # the plan on the site page
    assert "No day plan" in client.get(f"/site/{ids['site']}/battery-plan").text
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={"capacity_kwh": 10, "soc_now": 0.2, "max_charge_w": 3000, "max_discharge_w": 3000},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    frag = client.get(f"/site/{ids['site']}/battery-plan").text
    assert 'id="plan-table"' in frag and "charge" in frag and 'id="plan-data"' in frag
    assert 'id="battery-plan"' in client.get(f"/site/{ids['site']}").text


def test_a_plan_made_seconds_before_a_step_hands_over_without_overlap(
    client: TestClient, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five seconds before a quarter hour the step under way is shorter than a command may be
    (MIN_TTL): its command would run past the next one's start. The next step's command starts
    at once instead, and the commands stay back to back."""
    now = datetime(2026, 12, 6, 11, 44, 55, tzinfo=UTC)
    monkeypatch.setattr(runtime, "clock", ManualClock(now))
    ids, token = site_with_tariff(client, world, "GWP5")
    body = {
        "capacity_kwh": 10,
        "soc_now": 0.1,
        "max_charge_w": 4000,
        "max_discharge_w": 4000,
        "start_time": "2026-12-05T20:00:00Z",
        "follow_home": False,
    }
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan", json=body, headers=h(world, "om@I1")
    )
    assert r.status_code == 201, r.text
    cmds = r.json()["commands"]
    assert cmds[0]["not_before"] == "2026-12-06T11:44:55Z"
    assert cmds[0]["expires_at"] > "2026-12-06T11:45:00Z"  # the 11:45 step's, begun early
    for a, b in itertools.pairwise(cmds):
        assert a["expires_at"] == b["not_before"]
    due = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    assert [c["id"] for c in due] == [cmds[0]["id"]]


def test_the_overview_shows_the_plan_in_brief_and_the_tab_in_full(
    client: TestClient, world: World
) -> None:
    """The overview's plan card: when it was made, its expected cost against plain
    self-consumption and no battery, and what the battery is told now, with a link to the tab
    (the charts and commands made the overview a 4,900-pixel scroll). Another tenant: 404."""
    ids, _token = site_with_tariff(client, world, "GWP9")
    site = ids["site"]
    login(client, next(a.email for k, a in world.accounts.items() if k == "om@I1"))
    assert "No day plan yet" in client.get(f"/site/{site}/battery-plan/summary").text
    r = client.post(
        f"/api/v1/sites/{site}/battery-plan",
        json={"capacity_kwh": 10, "soc_now": 0.2, "max_charge_w": 3000, "max_discharge_w": 3000,
              "start_time": iso(evening_start())},
        headers=h(world, "om@I1"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    plan = r.json()

    overview = client.get(f"/site/{site}").text
    assert f'hx-get="/site/{site}/battery-plan/summary"' in overview
    assert 'id="plan-forecast"' not in overview  # the charts stay on the tab
    card = client.get(f"/site/{site}/battery-plan/summary").text
    assert f'data-cost="{plan["expected_cost"]}"' in card
    assert f'href="/site/{site}/battery-plan"' in card
    now = card.split('id="plan-summary-now">', 1)[1].split("</dd>", 1)[0]
    assert any(w in now for w in ("self-consumption", "charge", "discharge", "idle")), now
    assert "until" in now
    login(client, next(a.email for k, a in world.accounts.items() if k == "om@I2"))
    assert client.get(f"/site/{site}/battery-plan/summary").status_code == 404


def test_a_german_reader_reads_command_states_and_modes_in_german(
    client: TestClient, world: World
) -> None:
    """A command's state and a plan's mode are codes ("acknowledged", "self_consumption"); the
    pages showed them as such to a German reader."""
    ids, token = site_with_tariff(client, world, "GWP8")
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    csrf = login(client, world.accounts["om@I1"].email)
    r = client.post(
        f"/device/{ids['GWP8-BAT']}/commands",
        data={"csrf": csrf, "mode": "idle", "ttl_s": "300"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "in der Warteschlange" in r.text, r.text
    got = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    client.post(
        f"/api/v1/gateway/commands/{got[0]['id']}/reply",
        json={"status": "acknowledged", "message": "idle"},
        headers=bearer(token),
    )
    frag = client.get(f"/device/{ids['GWP8-BAT']}/commands").text
    assert ">bestätigt<" in frag and ">acknowledged<" not in frag
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={"capacity_kwh": 10, "soc_now": 0.2, "max_charge_w": 3000, "max_discharge_w": 3000,
              "start_time": iso(evening_start())},
        headers=h(world, "om@I1"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    table = client.get(f"/site/{ids['site']}/battery-plan").text.split('id="plan-table"', 1)[1]
    modes = {"Eigenverbrauch", "laden", "entladen", "Ruhe"}
    assert any(f"<td>{m}</td>" in table for m in modes), table[:2000]
    assert "self_consumption" not in table and "self consumption" not in table
