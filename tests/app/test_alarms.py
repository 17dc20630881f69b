"""Alarms: raised and cleared by a gateway over HTTP ingest, listed, filtered, downloaded,
acknowledged; counted on the fleet KPIs and the home page; a major one makes the site abnormal;
another tenant never sees them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, h, iso, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.models import AuditEntry, Site
from voltfleet.store.telemetry_models import QuarantinedReading

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def home(client: TestClient, world: World, gw: str) -> tuple[dict[str, str], str]:
    """A site with gateway, inverter, meter and a battery below the inverter, and the gateway's
    token."""
    ids = make_site(client, world, gw)
    r = client.post(
        f"/api/v1/sites/{ids['site']}/devices",
        json={"kind": "battery", "serial": f"{gw}-BAT", "parent_serial": f"{gw}-INV"},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    ids[f"{gw}-BAT"] = r.json()["id"]
    return ids, token_for(client, world, ids[gw])


def event(device: str, code: str, action: str, ts: datetime, message: str = "") -> dict[str, str]:
    return {"device": device, "code": code, "action": action, "ts": iso(ts), "message": message}


def send(client: TestClient, token: str, alarms: list[dict[str, str]], **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/ingest", json={"alarms": alarms, **body}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def site_status(runtime: Runtime, site_id: str) -> str:
    with runtime.db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        return site.status


def test_raise_is_idempotent_clear_closes_and_bad_events_are_refused(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWA1")
    t0 = NOW - timedelta(minutes=30)
    reading = {"device": "GWA1-INV", "point": "pv_power_w", "ts": iso(t0), "value": 10, "unit": "W"}
    raise_ = event("GWA1-BAT", "BAT_COMM_LOST", "raise", t0, "BMS silent on CAN")
    body = send(client, token, [raise_], readings=[reading])
    assert body["accepted"] == 1
    assert body["alarms"] == {
        "received": 1,
        "opened": 1,
        "cleared": 0,
        "unchanged": 0,
        "refused": 0,
        "refusals": [],
    }
    assert site_status(runtime, ids["site"]) == "abnormal"  # a major alarm is active

    # The same raise again (a retry, or the gateway repeating itself): the same occurrence.
    again = send(client, token, [raise_, {**raise_, "ts": iso(t0 + timedelta(minutes=1))}])
    assert again["alarms"]["unchanged"] == 2 and again["alarms"]["opened"] == 0
    with runtime.db.session() as s:
        rows = list(s.scalars(select(Alarm)))
    assert len(rows) == 1
    assert rows[0].device_id == ids["GWA1-BAT"] and rows[0].severity == "major"
    assert rows[0].raised_at == t0 and rows[0].cleared_at is None
    assert rows[0].message == "BMS silent on CAN"

    # Bad events are refused one by one with their reason, and kept in the quarantine.
    bad = [
        event("GWA1-BAT", "NO_SUCH_CODE", "raise", t0),
        event("GWA1-BAT", "BAT_OVER_TEMPERATURE", "explode", t0),
        event("GWA1-BAT", "BAT_OVER_TEMPERATURE", "raise", NOW + timedelta(hours=2)),
        {"device": "GWA1-BAT", "code": "BAT_OVER_TEMPERATURE", "action": "raise", "ts": "noon"},
        {**event("GWA1-BAT", "BAT_OVER_TEMPERATURE", "raise", t0), "ts": "2026-03-02T10:00:00"},
        event("NOT-MINE", "MTR_COMM_LOST", "raise", t0),
        event("GWA1-MTR", "mtr_comm_lost", "raise", t0),  # fine: codes are case-insensitive
    ]
    out = send(client, token, bad)["alarms"]
    assert out["opened"] == 1 and out["refused"] == 6
    reasons = {r["index"]: r["reason"] for r in out["refusals"]}
    assert reasons == {
        0: "unknown_alarm_code",
        1: "bad_alarm_action",
        2: "in_future",
        3: "bad_timestamp",
        4: "bad_timestamp",
        5: "unknown_device",
    }
    details = {r["index"]: r["detail"] for r in out["refusals"]}
    assert "GET /api/v1/alarms/codes" in details[0] and "no UTC offset" in details[4]
    assert "below gateway GWA1" in details[5]
    with runtime.db.session() as s:
        quarantined = list(
            s.scalars(select(QuarantinedReading).where(QuarantinedReading.point == "alarm"))
        )
    assert sorted(q.reason for q in quarantined) == sorted(reasons.values())

    # A clear closes the occurrence at its time; repeating it changes nothing.
    clear = event("GWA1-BAT", "BAT_COMM_LOST", "clear", t0 + timedelta(minutes=12))
    assert send(client, token, [clear])["alarms"]["cleared"] == 1
    assert send(client, token, [clear, raise_])["alarms"]["unchanged"] == 2  # late copies
    with runtime.db.session() as s:
        alarm = s.scalar(select(Alarm).where(Alarm.code == "BAT_COMM_LOST"))
        assert alarm is not None and alarm.cleared_at == t0 + timedelta(minutes=12)
    assert site_status(runtime, ids["site"]) == "online"  # only a minor alarm is left
    # A later raise is a new occurrence.
    later = event("GWA1-BAT", "BAT_COMM_LOST", "raise", t0 + timedelta(minutes=20))
    assert send(client, token, [later])["alarms"]["opened"] == 1

    # A malformed field is a clear 422 for the batch (nothing stored), not a crash.
    r = client.post(
        "/api/v1/ingest",
        json={"alarms": [{"code": ["x"], "action": "raise"}]},
        headers=bearer(token),
    )
    assert r.status_code == 422 and "alarms.0.code" in r.json()["detail"]


def test_list_filters_csv_acknowledge_and_tenants(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWA2")
    t0 = NOW - timedelta(hours=3)
    send(
        client,
        token,
        [
            event("GWA2-BAT", "BAT_COMM_LOST", "raise", t0),
            event("GWA2-BAT", "BAT_COMM_LOST", "clear", t0 + timedelta(minutes=10)),
            event("GWA2-INV", "INV_OVER_TEMPERATURE", "raise", t0 + timedelta(hours=1)),
            event("", "GW_CLOCK_UNSYNCED", "raise", t0 + timedelta(hours=2), "NTP unreachable"),
        ],
    )
    om = h(world, "om@I1")

    def listed(**params: str) -> list[str]:
        r = client.get("/api/v1/alarms", params=params, headers=om)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return [a["code"] for a in body["items"]]

    assert listed() == ["GW_CLOCK_UNSYNCED", "INV_OVER_TEMPERATURE", "BAT_COMM_LOST"]  # newest 1st
    assert listed(status="active") == ["GW_CLOCK_UNSYNCED", "INV_OVER_TEMPERATURE"]
    assert listed(status="cleared") == ["BAT_COMM_LOST"]
    assert listed(severity="major") == ["BAT_COMM_LOST"]
    assert listed(severity="WARNING") == ["GW_CLOCK_UNSYNCED"]
    assert listed(device_id=ids["GWA2-INV"]) == ["INV_OVER_TEMPERATURE"]
    assert listed(site_id=ids["site"], code="bat_comm_lost") == ["BAT_COMM_LOST"]
    # Active at some time in [since, until): the cleared one ended before `since`.
    assert listed(since=iso(t0 + timedelta(minutes=30))) == [
        "GW_CLOCK_UNSYNCED",
        "INV_OVER_TEMPERATURE",
    ]
    assert listed(until=iso(t0 + timedelta(minutes=30))) == ["BAT_COMM_LOST"]
    r = client.get("/api/v1/alarms", params={"page_size": 1, "page": 2}, headers=om)
    assert r.json()["total"] == 3 and [a["code"] for a in r.json()["items"]] == [
        "INV_OVER_TEMPERATURE"
    ]
    # Bad filters are clear 4xx.
    r = client.get("/api/v1/alarms", params={"severity": "urgent"}, headers=om)
    assert r.status_code == 400 and "major, minor, warning" in r.json()["detail"]
    r = client.get("/api/v1/alarms", params={"status": "open"}, headers=om)
    assert r.status_code == 422 and "status" in r.json()["detail"]
    r = client.get("/api/v1/alarms", params={"since": iso(NOW), "until": iso(t0)}, headers=om)
    assert r.status_code == 400 and "until must be after since" in r.json()["detail"]

    # One alarm, with what the catalogue says about it.
    gw_alarm = client.get("/api/v1/alarms", params={"code": "GW_CLOCK_UNSYNCED"}, headers=om)
    alarm = gw_alarm.json()["items"][0]
    assert alarm["device_serial"] == "GWA2" and alarm["device_kind"] == "gateway"
    assert alarm["severity"] == "warning" and alarm["status"] == "active"
    assert "NTP" in alarm["suggested_action"] and alarm["message"] == "NTP unreachable"
    one = client.get(f"/api/v1/alarms/{alarm['id']}", headers=h(world, "admin@I1"))
    assert one.status_code == 200 and one.json() == alarm

    # CSV: every matching alarm, whatever the paging.
    r = client.get("/api/v1/alarms", params={"format": "csv", "page_size": 1}, headers=om)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "alarms.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["code"] for x in rows] == [
        "GW_CLOCK_UNSYNCED",
        "INV_OVER_TEMPERATURE",
        "BAT_COMM_LOST",
    ]
    assert rows[2]["status"] == "cleared" and rows[2]["severity"] == "major"
    assert rows[0]["device_serial"] == "GWA2" and rows[0]["message"] == "NTP unreachable"

    # Acknowledge: O&M may, audited, idempotent; the alarm stays active.
    r = client.post(f"/api/v1/alarms/{alarm['id']}/acknowledge", headers=om)
    assert r.status_code == 200, r.text
    acked = r.json()
    assert acked["acknowledged_by_email"] == world.accounts["om@I1"].email
    assert acked["acknowledged_at"] is not None and acked["status"] == "active"
    again = client.post(f"/api/v1/alarms/{alarm['id']}/acknowledge", headers=h(world, "admin@I1"))
    assert again.status_code == 200 and again.json()["acknowledged_at"] == acked["acknowledged_at"]
    with runtime.db.session() as s:
        audits = list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == "alarm.acknowledged"))
        )
    assert len(audits) == 1 and audits[0].object_id == alarm["id"]
    assert audits[0].actor_id == world.accounts["om@I1"].id

    # Another tenant: not found, and not in its list.
    other = h(world, "admin@I2")
    assert client.get(f"/api/v1/alarms/{alarm['id']}", headers=other).status_code == 404
    r = client.post(f"/api/v1/alarms/{alarm['id']}/acknowledge", headers=other)
    assert r.status_code == 404 and r.json()["detail"] == "alarm not found"
    assert client.get("/api/v1/alarms", headers=other).json()["total"] == 0
    r = client.get("/api/v1/alarms", params={"site_id": ids["site"]}, headers=other)
    assert r.json()["total"] == 0

    # The catalogue.
    codes = client.get("/api/v1/alarms/codes", headers=other).json()
    assert len(codes) >= 12 and codes[0]["severity"] == "major"
    kinds = {c["device_kind"] for c in codes}
    assert kinds == {"inverter", "battery", "meter", "charger", "gateway"}
    assert client.get("/api/v1/alarms/codes").status_code == 401


def test_active_alarm_counts_on_kpis_home_and_pages(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWA3")
    t0 = NOW - timedelta(minutes=40)
    send(
        client,
        token,
        [
            event("GWA3-BAT", "BAT_COMM_LOST", "raise", t0),
            event("GWA3-INV", "INV_GRID_OVERVOLTAGE", "raise", t0),
            event("GWA3-INV", "INV_FAN_FAULT", "raise", t0),
            event("GWA3-MTR", "MTR_CT_REVERSED", "raise", t0),
            event("GWA3-MTR", "MTR_CT_REVERSED", "clear", t0 + timedelta(minutes=5)),
        ],
    )
    want = {"major": 1, "minor": 1, "warning": 1, "total": 3}
    r = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I1"))
    assert r.status_code == 200 and r.json()["alarms"] == want
    zero = {"major": 0, "minor": 0, "warning": 0, "total": 0}
    assert client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I2")).json()["alarms"] == zero

    # The portal: home page tiles, the Alarms page with its filters, acknowledge, CSV.
    csrf = login(client, world.accounts["om@I1"].email)
    page = client.get("/home").text
    assert 'id="alarms-major">1<' in page and 'id="alarms-warning">1<' in page
    assert client.get("/maintenance", follow_redirects=False).headers["location"] == (
        "/maintenance/alarms"
    )
    page = client.get("/maintenance/alarms").text
    assert page.count('data-status="active"') == 3 and "MTR_CT_REVERSED</td>" not in page
    assert "status-abnormal" in page and ">Acknowledge</button>" in page
    page = client.get("/maintenance/alarms", params={"status": "all", "severity": "warning"}).text
    assert 'data-code="INV_FAN_FAULT"' in page and 'data-code="MTR_CT_REVERSED"' in page
    assert 'data-code="BAT_COMM_LOST"' not in page
    page = client.get("/maintenance/alarms", params={"since": "yesterday"}).text
    assert "is not a date" in page
    with runtime.db.session() as s:
        bat = s.scalar(select(Alarm.id).where(Alarm.code == "BAT_COMM_LOST"))
    r = client.post(
        f"/maintenance/alarms/{bat}/acknowledge",
        data={"csrf": csrf, "back": "status=all"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/maintenance/alarms?status=all"
    with runtime.db.session() as s:
        acked = s.get(Alarm, bat)
        assert acked is not None and acked.acknowledged_by == world.accounts["om@I1"].id
    r = client.post(f"/maintenance/alarms/{bat}/acknowledge", data={"csrf": "forged"})
    assert r.status_code == 403
    r = client.get("/maintenance/alarms.csv", params={"status": "all"})
    assert r.status_code == 200 and len(r.text.strip().splitlines()) == 1 + 4
    # The site page loads the site's active alarms.
    assert f'hx-get="/site/{ids["site"]}/alarms"' in client.get(f"/site/{ids['site']}").text
    frag = client.get(f"/site/{ids['site']}/alarms").text
    assert frag.count("data-alarm=") == 3 and "BMS cable" in frag

    # Another tenant: the site's alarms are not found, its own list is empty.
    login(client, world.accounts["admin@I2"].email)
    assert client.get(f"/site/{ids['site']}/alarms").status_code == 404
    assert 'id="no-alarms"' in client.get("/maintenance/alarms").text
