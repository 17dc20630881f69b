"""Counter restarts and the quarantine (voltfleet issue 4), on SQLite and PostgreSQL: a meter
replaced mid-day has its new readings quarantined; O&M records the restart and releases them;
the day's energy is then the true energy. Other tenants get 404 on every new route."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, h, iso, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import AuditEntry
from voltfleet.store.telemetry_models import CounterRestart, QuarantinedReading

BERLIN = ZoneInfo("Europe/Berlin")
DAY = (datetime.now(UTC) - timedelta(days=2)).astimezone(BERLIN).date()
MIDNIGHT = datetime(DAY.year, DAY.month, DAY.day, tzinfo=BERLIN)
SWAP = MIDNIGHT + timedelta(hours=11, minutes=57)  # between the readings of 11:55 and 12:00
POINT = "grid_import_energy_wh"


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def day_readings(meter: str, new_start: float) -> list[dict[str, object]]:
    """100 Wh every 5 minutes all day long. The old meter reads 1 MWh at midnight; at 11:57 it
    is replaced by one whose register starts at ``new_start``."""
    out: list[dict[str, object]] = []
    steps = int((_next_midnight() - MIDNIGHT).total_seconds() // 300)
    swapped = int((SWAP - MIDNIGHT).total_seconds() // 300) + 1  # readings before the swap
    for k in range(steps + 1):
        ts = MIDNIGHT + timedelta(seconds=300 * k)
        value = 1_000_000 + 100 * k if ts < SWAP else new_start + 100 * (k - swapped + 1)
        out.append({"device": meter, "point": POINT, "ts": iso(ts), "value": value, "unit": "Wh"})
    return out


def _next_midnight() -> datetime:
    nxt = DAY + timedelta(days=1)
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=BERLIN)


def true_energy() -> float:
    return (_next_midnight() - MIDNIGHT).total_seconds() // 300 * 100


def day_import(client: TestClient, world: World, site_id: str) -> float:
    r = client.get(
        f"/api/v1/sites/{site_id}/energy",
        params={"period": "day", "date": DAY.isoformat()},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    return float(r.json()["total"]["grid_import_wh"])


def send(client: TestClient, token: str, readings: list[dict[str, object]]) -> dict[str, object]:
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_meter_replaced_mid_day_restart_recorded_and_readings_released(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWX")
    mtr, sid = ids["GWX-MTR"], ids["site"]
    token = token_for(client, world, ids["GWX"])
    readings = day_readings("GWX-MTR", new_start=0)
    after_swap = sum(1 for r in readings if str(r["ts"]) > iso(SWAP))
    body = send(client, token, readings)
    # The new meter's readings are all below the old meter's: quarantined as counter resets.
    assert body["quarantined"] == after_swap and body["accepted"] == len(readings) - after_swap
    assert {r["reason"] for r in body["rejections"]} == {"counter_reset"}  # type: ignore[attr-defined]
    morning = (len(readings) - after_swap - 1) * 100
    assert day_import(client, world, sid) == pytest.approx(morning)

    # The quarantine, filtered: by device, reason, point and the readings' own time range.
    om = h(world, "om@I1")
    params = {"device_id": mtr, "reason": "counter_reset", "page_size": 500}
    r = client.get("/api/v1/quarantine", params=params, headers=om)
    assert r.status_code == 200 and r.json()["total"] == after_swap
    since, until = iso(MIDNIGHT + timedelta(hours=13)), iso(MIDNIGHT + timedelta(hours=14))
    r = client.get(
        "/api/v1/quarantine",
        params={**params, "point": POINT, "since": since, "until": until},
        headers=om,
    )
    assert r.json()["total"] == 12
    r = client.get("/api/v1/quarantine", params={**params, "point": "pv_energy_wh"}, headers=om)
    assert r.json()["total"] == 0
    r = client.get("/api/v1/quarantine", params={"reason": "nonsense"}, headers=om)
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = client.get("/api/v1/quarantine", params={"since": "2026-01-01T00:00:00"}, headers=om)
    assert r.status_code == 422  # a naive instant
    r = client.get("/api/v1/quarantine", params={**params, "format": "csv"}, headers=om)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:3] == ["id", "received_at (UTC)", "site_id"] and len(rows) == after_swap + 1
    assert {row[11] for row in rows[1:]} == {"counter_reset"}

    # Releasing before the restart is recorded changes nothing: refused again, kept.
    some = [
        q["id"]
        for q in client.get("/api/v1/quarantine", params=params, headers=om).json()["items"][:3]
    ]
    r = client.post("/api/v1/quarantine/release", json={"ids": some}, headers=om)
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["still_refused"]) == (0, 3)
    assert {x["id"] for x in r.json()["refusals"]} == set(some)

    # Record the restart (O&M of the device's organisation), with an offset in the instant.
    restart = {"point": POINT, "at": SWAP.isoformat(), "reason": "meter replaced"}
    r = client.post(f"/api/v1/devices/{mtr}/counter-restarts", json=restart, headers=om)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["start_wh"] == 0 and r.json()["at"].startswith(iso(SWAP.astimezone(UTC))[:19])
    r = client.get(f"/api/v1/devices/{mtr}/counter-restarts", headers=h(world, "admin@I1"))
    assert r.status_code == 200 and [x["id"] for x in r.json()] == [rid]

    # Release the meter's counter resets, by filter: all stored now, the quarantine is empty.
    r = client.post(
        "/api/v1/quarantine/release",
        json={"device_id": mtr, "reason": "counter_reset"},
        headers=om,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["matched"], out["stored"], out["duplicates"], out["still_refused"]) == (
        after_swap,
        after_swap,
        0,
        0,
    )
    r = client.get("/api/v1/quarantine", params=params, headers=om)
    assert r.json()["total"] == 0
    assert day_import(client, world, sid) == pytest.approx(true_energy())
    with runtime.db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert "device.counter_restart_recorded" in actions
    assert actions.count("quarantine.released") == 2

    # A second release of the same filter finds nothing; resending the batch is all duplicates.
    r = client.post("/api/v1/quarantine/release", json={"device_id": mtr}, headers=om)
    assert r.status_code == 200 and r.json()["matched"] == 0
    body = send(client, token, readings)
    assert body["quarantined"] == 0 and body["duplicates"] == len(readings)
    assert day_import(client, world, sid) == pytest.approx(true_energy())

    # The restart cannot go: the new meter's readings depend on it.
    r = client.delete(f"/api/v1/devices/{mtr}/counter-restarts/{rid}", headers=om)
    assert r.status_code == 409, r.text
    assert "readings depend on this restart" in r.json()["detail"]

    # A new meter reading going backwards after the restart is still a counter reset.
    late = MIDNIGHT + timedelta(hours=12, minutes=2)
    bad = {"device": "GWX-MTR", "point": POINT, "ts": iso(late), "value": 5000, "unit": "Wh"}
    body = send(client, token, [bad])
    assert body["quarantined"] == 1 and "above the later stored value" in str(body["rejections"])


def test_a_replacement_meter_starting_higher_and_removing_the_restart(
    client: TestClient, world: World
) -> None:
    """The new meter starts at 5 MWh: nothing is quarantined, but the day books 4 MWh too much
    until the restart is recorded with its start value; removing it (no reading depends on it)
    books them again."""
    ids = make_site(client, world, "GWY")
    mtr, sid = ids["GWY-MTR"], ids["site"]
    token = token_for(client, world, ids["GWY"])
    body = send(client, token, day_readings("GWY-MTR", new_start=5_000_000))
    assert body["quarantined"] == 0
    wrong = day_import(client, world, sid)
    assert wrong > true_energy() + 3_900_000
    om = h(world, "om@I1")
    url = f"/api/v1/devices/{mtr}/counter-restarts"
    # A start value above the new meter's first reading contradicts the stored readings.
    restart = {"point": POINT, "at": iso(SWAP), "reason": "meter replaced", "start_wh": 6e6}
    r = client.post(url, json=restart, headers=om)
    assert r.status_code == 409 and "below the start value" in r.json()["detail"]
    r = client.post(url, json={**restart, "start_wh": 5_000_000}, headers=om)
    assert r.status_code == 201, r.text
    assert day_import(client, world, sid) == pytest.approx(true_energy())
    r = client.post(url, json={**restart, "start_wh": 5_000_000}, headers=om)
    assert r.status_code == 409 and "recorded already" in r.json()["detail"]
    rid = client.get(url, headers=om).json()[0]["id"]
    r = client.delete(f"{url}/{rid}", headers=om)
    assert r.status_code == 204, r.text
    assert day_import(client, world, sid) == pytest.approx(wrong)
    assert client.get(url, headers=om).json() == []
    r = client.delete(f"{url}/{rid}", headers=om)
    assert r.status_code == 404


def test_bad_restarts_are_refused_with_a_reason(client: TestClient, world: World) -> None:
    ids = make_site(client, world, "GWZ")
    url = f"/api/v1/devices/{ids['GWZ-MTR']}/counter-restarts"
    om = h(world, "om@I1")
    base = {"point": POINT, "at": iso(SWAP), "reason": "firmware reset"}
    r = client.post(url, json={**base, "point": "pv_power_w"}, headers=om)
    assert r.status_code == 400 and "not an energy counter" in r.json()["detail"]
    r = client.post(url, json={**base, "at": "2026-03-01T10:00:00"}, headers=om)
    assert r.status_code == 422 and "at" in r.json()["detail"]
    future = iso(datetime.now(UTC) + timedelta(hours=1))
    r = client.post(url, json={**base, "at": future}, headers=om)
    assert r.status_code == 400 and "in the future" in r.json()["detail"]
    r = client.post(url, json={**base, "reason": ""}, headers=om)
    assert r.status_code == 422
    r = client.post(url, json={**base, "start_wh": -1}, headers=om)
    assert r.status_code == 422
    # An owner of another home does not see the meter (the matrix checks the home's owner
    # gets 403).
    r = client.post(url, json=base, headers=h(world, "owner@I1"))
    assert r.status_code == 404
    r = client.post("/api/v1/quarantine/release", json={}, headers=om)
    assert r.status_code == 400 and "give 'ids', or a filter" in r.json()["detail"]
    r = client.post(
        "/api/v1/quarantine/release", json={"ids": ["x"], "reason": "too_old"}, headers=om
    )
    assert r.status_code == 400
    r = client.post("/api/v1/quarantine/release", json={"ids": ["nope"]}, headers=om)
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = client.post(
        "/api/v1/quarantine/release", json={"reason": "too_old"}, headers=h(world, "owner@I1")
    )
    assert r.status_code == 403


def test_other_tenants_get_404_on_every_new_route(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWT")
    mtr = ids["GWT-MTR"]
    token = token_for(client, world, ids["GWT"])
    send(client, token, day_readings("GWT-MTR", new_start=0)[140:150])
    om = h(world, "om@I1")
    url = f"/api/v1/devices/{mtr}/counter-restarts"
    restart = {"point": POINT, "at": iso(SWAP), "reason": "meter replaced"}
    rid = client.post(url, json=restart, headers=om).json()["id"]
    with runtime.db.session() as s:
        qids = list(s.scalars(select(QuarantinedReading.id)))
    assert len(qids) == 6
    for who in ("om@I2", "admin@I2", "owner@I2", "admin@D2"):
        other = h(world, who)
        assert client.get(url, headers=other).status_code == 404, who
        assert client.post(url, json=restart, headers=other).status_code == 404, who
        assert client.delete(f"{url}/{rid}", headers=other).status_code == 404, who
        r = client.post("/api/v1/quarantine/release", json={"ids": qids[:1]}, headers=other)
        assert r.status_code == 404, who
        if who != "owner@I2":
            r = client.post("/api/v1/quarantine/release", json={"device_id": mtr}, headers=other)
            assert r.status_code == 200 and r.json()["matched"] == 0, who
            r = client.get("/api/v1/quarantine", params={"format": "csv"}, headers=other)
            assert r.status_code == 200 and r.text.count("\n") == 1, who
    # Nothing moved: still quarantined, the restart still there.
    with runtime.db.session() as s:
        assert len(list(s.scalars(select(QuarantinedReading.id)))) == 6
    assert len(client.get(url, headers=om).json()) == 1


def test_the_portal_device_card_and_the_quarantine_page(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWP")
    mtr, sid = ids["GWP-MTR"], ids["site"]
    token = token_for(client, world, ids["GWP"])
    readings = day_readings("GWP-MTR", new_start=0)
    held = send(client, token, readings)["quarantined"]
    csrf = login(client, world.accounts["om@I1"].email)

    # The device page loads the card; the card lists nothing yet and points at the quarantine.
    assert f'hx-get="/device/{mtr}/counter-restarts"' in client.get(f"/device/{mtr}").text
    card = client.get(f"/device/{mtr}/counter-restarts").text
    assert 'id="no-counter-restarts"' in card and f"{held} readings of this device" in card
    # A bad form answers on the card; the site's local time is what a person types.
    form = {"csrf": csrf, "point": POINT, "at": "yesterday", "reason": "meter replaced"}
    card = client.post(f"/device/{mtr}/counter-restarts", data=form).text
    assert "is not a date and time" in card
    local = SWAP.strftime("%Y-%m-%dT%H:%M:%S")
    card = client.post(f"/device/{mtr}/counter-restarts", data={**form, "at": local}).text
    assert "recorded" in card and card.count("data-restart=") == 1
    assert SWAP.strftime("%Y-%m-%d %H:%M:%S") in card  # shown in the site's zone
    r = client.post(f"/device/{mtr}/counter-restarts", data={**form, "at": local, "csrf": "x"})
    assert r.status_code == 403

    # Maintenance > Quarantine: filters, the reasons, release the selected rows.
    page = client.get("/maintenance/quarantine", params={"device_id": mtr}).text
    assert page.count("data-row=") == min(held, 50) and "counter_reset · " in page
    assert 'href="/maintenance/quarantine"' in client.get("/maintenance/alarms").text
    page = client.get("/maintenance/quarantine", params={"since": "soon"}).text
    assert "is not a date" in page
    r = client.get("/maintenance/quarantine.csv", params={"device_id": mtr})
    assert r.status_code == 200 and len(r.text.strip().splitlines()) == 1 + held
    with runtime.db.session() as s:
        two = list(
            s.scalars(select(QuarantinedReading.id).order_by(QuarantinedReading.ts).limit(2))
        )
    page = client.post(
        "/maintenance/quarantine/release",
        data={"csrf": csrf, "ids": two, "scope": "selected", "device_id": mtr},
    ).text
    assert "2 readings re-run: 2 stored" in page
    page = client.post(
        "/maintenance/quarantine/release",
        data={"csrf": csrf, "scope": "matching", "device_id": mtr, "reason": "counter_reset"},
    ).text
    assert f"{held - 2} readings re-run: {held - 2} stored" in page and 'id="no-quarantine"' in page
    assert day_import(client, world, sid) == pytest.approx(true_energy())
    # Removing the restart is refused, on the card, with the reason.
    with runtime.db.session() as s:
        rid = s.scalar(select(CounterRestart.id))
    card = client.post(f"/device/{mtr}/counter-restarts/{rid}/delete", data={"csrf": csrf}).text
    assert "readings depend on this restart" in card and card.count("data-restart=") == 1

    # Another tenant does not see the card.
    login(client, world.accounts["admin@I2"].email)
    assert client.get(f"/device/{mtr}/counter-restarts").status_code == 404
