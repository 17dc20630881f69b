"""Departure times and 1p/3p switching through the API and the portal, on SQLite and
PostgreSQL: a running session gets a departure and an energy need, the next cycle gives its car
more than its neighbour (still within the main fuse), the API and the power screen say when it
will be ready or by how much it will miss; bad input is a clear 4xx; a connector is marked as
able to switch phases, and the screen shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.app.test_power import (
    RecordingLink,
    connector_of,
    h,
    make_site,
    meter,
    run_jobs,
    set_status,
)
from tests.app.test_power import link as link
from tests.app.test_power import world as world
from tests.app.test_sites import portal_login
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession


def _session(runtime: Runtime, site: str, charger: str, tx: int, started: datetime) -> str:
    with runtime.db.session() as s:
        row = ChargingSession(
            site_id=site,
            device_id=charger,
            connector_id=1,
            transaction_id=tx,
            id_tag="T",
            started_at=started,
            meter_start_wh=1000.0,
            meter_last_wh=3000.0,  # 2 kWh so far
            power_w=0.0,
        )
        s.add(row)
        s.flush()
        return row.id


def _tree(client: TestClient, world: World, runtime: Runtime, ids: dict[str, str]) -> None:
    base = f"/api/v1/sites/{ids['site']}/power"
    setup = {"grid_type": "3x400", "main_fuse_a": 25, "meter_device_id": ids["PWR-MTR"]}
    root = client.put(base, json=setup, headers=h(world, "admin@I1")).json()["groups"][0]["id"]
    for serial in ("PWR-A", "PWR-B"):
        r = client.put(
            f"{base}/connectors/{connector_of(runtime, ids[serial])}",
            json={"group_id": root},
            headers=h(world, "om@I1"),
        )
        assert r.status_code == 200, r.text
    r = client.patch(f"{base}/settings", json={"raise_hold_s": 0}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text


def test_a_departure_gives_the_car_what_it_needs_and_the_screen_says_if_it_will_be_ready(
    client: TestClient, world: World, runtime: Runtime, link: RecordingLink
) -> None:
    ids = make_site(client, world)
    _tree(client, world, runtime, ids)
    now = datetime.now(UTC)
    meter(client, ids, 0.0, now)
    _session(runtime, ids["site"], ids["PWR-A"], 71001, now - timedelta(minutes=30))
    sb = _session(runtime, ids["site"], ids["PWR-B"], 71002, now - timedelta(minutes=20))
    set_status(runtime, ids["PWR-A"], "charging")
    set_status(runtime, ids["PWR-B"], "charging")
    run_jobs(runtime)
    assert link.last() == {"PWR-A": 12.5, "PWR-B": 12.5}

    # B leaves in two hours and wants 30 kWh in all (28 to go): 14 kW, 20.2 A on three phases;
    # what the 25 A leave once A has its 6 A is 19 A
    departure = (now + timedelta(hours=2)).astimezone(UTC)
    body = {"departure_at": departure.isoformat(), "energy_need_kwh": 30}
    r = client.put(
        f"/api/v1/charging/sessions/{sb}/departure", json=body, headers=h(world, "om@I1")
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["remaining_kwh"] == 28.0 and out["charged_kwh"] == 2.0
    assert out["power_w"] == 19.0 * 690  # the allocation's current on three phases
    assert out["ready_at"] is None and 0 < out["short_kwh"] < 28  # it will miss some
    assert "power-recompute" in run_jobs(runtime)
    assert link.last() == {"PWR-A": 6.0, "PWR-B": 19.0}

    # the power screen says it
    csrf = portal_login(client, "om.i1@example.com")
    page = client.get(f"/sites/{ids['site']}/power")
    assert page.status_code == 200
    assert 'id="power-departures"' in page.text
    assert "will miss by" in page.text

    # the portal's form, on the site's clock (Berlin): a smaller need, ready before it leaves
    berlin = departure.astimezone(ZoneInfo("Europe/Berlin"))
    r = client.post(
        f"/sites/{ids['site']}/power/departures/{sb}",
        data={"csrf": csrf, "departure_at": berlin.strftime("%Y-%m-%dT%H:%M"),
              "energy_need_kwh": "10"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    got = client.get(f"/api/v1/charging/sessions/{sb}/departure", headers=h(world, "om@I1"))
    assert got.json()["energy_need_kwh"] == 10 and got.json()["short_kwh"] == 0
    assert got.json()["departure_at"][:16] == departure.isoformat()[:16]
    page = client.get(f"/sites/{ids['site']}/power")
    assert (
        "will be ready at" in page.text
        and "Departure time saved." in client.get(r.headers["location"]).text
    )
    german = client.get(r.headers["location"], headers={"Accept-Language": "de"}).text
    assert "Abfahrtszeit gespeichert." in german and "fertig um" in german
    bad = client.post(
        f"/sites/{ids['site']}/power/departures/{sb}",
        data={"csrf": csrf, "departure_at": "tomorrow", "energy_need_kwh": "10"},
    )
    assert bad.status_code == 422 and "Not saved" in bad.text

    # cleared: both share again
    r = client.delete(f"/api/v1/charging/sessions/{sb}/departure", headers=h(world, "om@I1"))
    assert r.status_code == 204
    run_jobs(runtime)
    assert link.last() == {"PWR-A": 12.5, "PWR-B": 12.5}


def test_bad_departures_are_refused_with_a_reason(
    client: TestClient, world: World, runtime: Runtime, link: RecordingLink
) -> None:
    ids = make_site(client, world)
    now = datetime.now(UTC)
    sid = _session(runtime, ids["site"], ids["PWR-A"], 71003, now)
    url = f"/api/v1/charging/sessions/{sid}/departure"
    past = {"departure_at": (now - timedelta(hours=1)).isoformat(), "energy_need_kwh": 5}
    r = client.put(url, json=past, headers=h(world, "om@I1"))
    assert r.status_code == 422 and "future" in r.text
    naive = {"departure_at": "2099-01-01T08:00:00", "energy_need_kwh": 5}
    assert client.put(url, json=naive, headers=h(world, "om@I1")).status_code == 422
    zero = {"departure_at": "2099-01-01T08:00:00Z", "energy_need_kwh": 0}
    assert client.put(url, json=zero, headers=h(world, "om@I1")).status_code == 422
    with runtime.db.session() as s:
        row = s.get(ChargingSession, sid)
        assert row is not None
        row.stopped_at = now
    ok = {"departure_at": "2099-01-01T08:00:00Z", "energy_need_kwh": 5}
    r = client.put(url, json=ok, headers=h(world, "om@I1"))
    assert r.status_code == 409 and "ended" in r.json()["detail"]
    # another tenant does not see it
    assert client.put(url, json=ok, headers=h(world, "admin@I2")).status_code == 404


def test_phase_switching_is_set_per_connector_and_shown_on_the_screen(
    client: TestClient, world: World, runtime: Runtime, link: RecordingLink
) -> None:
    ids = make_site(client, world)
    base = f"/api/v1/sites/{ids['site']}/power"
    ca = connector_of(runtime, ids["PWR-A"])
    r = client.put(f"{base}/connectors/{ca}/phase-switching", json={}, headers=h(world, "om@I1"))
    assert r.status_code == 409  # no power management yet
    _tree(client, world, runtime, ids)
    body = {"enabled": True, "up_delay_s": 90, "down_delay_s": 20, "min_interval_s": 600}
    r = client.put(f"{base}/connectors/{ca}/phase-switching", json=body, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is True and r.json()["phases"] == 3
    assert r.json()["up_delay_s"] == 90
    bad = {"enabled": True, "up_delay_s": -1}
    r = client.put(f"{base}/connectors/{ca}/phase-switching", json=bad, headers=h(world, "om@I1"))
    assert r.status_code == 422
    r = client.put(
        f"{base}/connectors/{ca}/phase-switching", json=body, headers=h(world, "owner@I1")
    )
    assert r.status_code == 404  # an owner sees only the sites given to them (the matrix: 403)
    csrf = portal_login(client, "om.i1@example.com")
    page = client.get(f"/sites/{ids['site']}/power")
    assert 'id="power-phase-switching"' in page.text and "1p/3p" in page.text
    r = client.post(
        f"/sites/{ids['site']}/power/connectors/{ca}/phase-switching",
        data={"csrf": csrf, "enabled": "1", "up_delay_s": "120", "down_delay_s": "30",
              "min_interval_s": "300"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    view = r = client.put(
        f"{base}/connectors/{ca}/phase-switching", json=body | {"up_delay_s": 120},
        headers=h(world, "om@I1"),
    )  # fmt: skip
    assert view.json()["up_delay_s"] == 120
    r = client.put(
        f"{base}/connectors/{ca}/phase-switching",
        json={"enabled": False},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 200 and r.json()["enabled"] is False
