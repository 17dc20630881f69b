"""Telemetry over HTTP: gateway tokens, ingest with duplicates and quarantine, roll-ups, status."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import DeviceCredential, QuarantinedReading
from voltfleet.store.timeseries import store_for


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_site(client: TestClient, world: World, gw: str, who: str = "admin@I1") -> dict[str, str]:
    """A site with a gateway, an inverter and a meter below it; returns their ids by serial."""
    r = client.post(
        "/api/v1/sites",
        json={"name": "Home", "timezone": "Europe/Berlin", "gateway": {"serial": gw}},
        headers=h(world, who),
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    for kind, serial in (("inverter", f"{gw}-INV"), ("meter", f"{gw}-MTR")):
        r = client.post(
            f"/api/v1/sites/{sid}/devices",
            json={"kind": kind, "serial": serial, "parent_serial": gw},
            headers=h(world, who),
        )
        assert r.status_code == 201, r.text
    r = client.get("/api/v1/devices", params={"site_id": sid}, headers=h(world, who))
    ids = {d["serial"]: d["id"] for d in r.json()["items"]}
    ids["site"] = sid
    return ids


def token_for(client: TestClient, world: World, device_id: str, who: str = "om@I1") -> str:
    r = client.post(f"/api/v1/devices/{device_id}/token", headers=h(world, who))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"].startswith("vfg_") and body["token"].startswith(body["prefix"])
    return str(body["token"])


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


NOW = datetime.now(UTC).replace(microsecond=0)


def test_tokens_are_issued_to_gateways_shown_once_and_rotated(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWT1")
    first = token_for(client, world, ids["GWT1"])
    body = {"readings": [{"point": "grid_frequency_hz", "ts": iso(NOW), "value": 50, "unit": "Hz"}]}
    assert client.post("/api/v1/ingest", json=body, headers=bearer(first)).status_code == 200
    second = token_for(client, world, ids["GWT1"], who="admin@I1")
    assert client.post("/api/v1/ingest", json=body, headers=bearer(first)).status_code == 401
    assert client.post("/api/v1/ingest", json=body, headers=bearer(second)).status_code == 200
    with runtime.db.session() as s:
        hashes = list(s.scalars(select(DeviceCredential.token_hash)))
    assert first not in hashes and second not in hashes and len(hashes) == 2
    # Only gateways hold tokens; strangers (here an owner of another home, and O&M of another
    # installer) do not see the device (the matrix checks owners of the home get 403).
    r = client.post(f"/api/v1/devices/{ids['GWT1-INV']}/token", headers=h(world, "om@I1"))
    assert r.status_code == 400 and "only gateways" in r.json()["detail"]
    r = client.post(f"/api/v1/devices/{ids['GWT1']}/token", headers=h(world, "owner@I1"))
    assert r.status_code == 404
    r = client.post(f"/api/v1/devices/{ids['GWT1']}/token", headers=h(world, "om@I2"))
    assert r.status_code == 404
    # No token, a user's token, garbage: 401.
    for headers in ({}, h(world, "admin@I1"), bearer("vfg_nope")):
        r = client.post("/api/v1/ingest", json=body, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_ingest_stores_once_quarantines_with_reasons_and_marks_devices_seen(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWA")
    other = make_site(client, world, "GWB", who="admin@I2")
    token = token_for(client, world, ids["GWA"])
    t = NOW - timedelta(minutes=10)
    good = [
        {"device": "gwa-inv", "point": "pv_power_w", "ts": iso(t), "value": 1.5, "unit": "kW"},
        {
            "device": ids["GWA-MTR"],
            "point": "grid_power_w",
            "ts": iso(t),
            "value": -200,
            "unit": "W",
        },
        {
            "device": "GWA-MTR",
            "point": "grid_import_energy_wh",
            "ts": iso(t),
            "value": 1000,
            "unit": "Wh",
        },
        {"point": "grid_frequency_hz", "ts": iso(t), "value": 50.01, "unit": "Hz"},
    ]
    bad = [
        {"device": "GWB-INV", "point": "pv_power_w", "ts": iso(t), "value": 1, "unit": "W"},
        {"device": other["GWB-INV"], "point": "pv_power_w", "ts": iso(t), "value": 1, "unit": "W"},
        {"device": "GWA-INV", "point": "magic_w", "ts": iso(t), "value": 1, "unit": "W"},
        {"device": "GWA-INV", "point": "pv_power_w", "ts": iso(t), "value": 1, "unit": "V"},
        {"device": "GWA-INV", "point": "pv_power_w", "ts": iso(t), "value": "NaN", "unit": "W"},
        {"device": "GWA-INV", "point": "pv_power_w", "ts": iso(t), "value": math.inf, "unit": "W"},
        {
            "device": "GWA-INV",
            "point": "pv_power_w",
            "ts": iso(NOW + timedelta(hours=1)),
            "value": 1,
            "unit": "W",
        },
        {
            "device": "GWA-INV",
            "point": "pv_power_w",
            "ts": iso(NOW - timedelta(days=31)),
            "value": 1,
            "unit": "W",
        },
        {
            "device": "GWA-INV",
            "point": "pv_power_w",
            "ts": "222222017-10-27T19:10:11Z",
            "value": 1,
            "unit": "W",
        },
        {
            "device": "GWA-INV",
            "point": "pv_power_w",
            "ts": "2026-01-01T00:00:00",
            "value": 1,
            "unit": "W",
        },
        {
            "device": "GWA-MTR",
            "point": "grid_export_energy_wh",
            "ts": iso(t),
            "value": -5,
            "unit": "Wh",
        },
        {
            "device": "GWA-MTR",
            "point": "grid_import_energy_wh",
            "ts": iso(t + timedelta(seconds=10)),
            "value": 900,
            "unit": "Wh",
        },
        {"device": "GWA-INV", "point": "soc", "ts": iso(t), "value": 140, "unit": "%"},
    ]
    reasons = [
        "unknown_device",
        "unknown_device",
        "unknown_point",
        "wrong_unit",
        "not_a_number",
        "not_a_number",
        "future_timestamp",
        "too_old",
        "bad_timestamp",
        "naive_timestamp",
        "negative_counter",
        "counter_reset",
        "out_of_range",
    ]
    # Sent as a device would: JSON with a bare Infinity (Python's json writes it), not refused.
    raw = json.dumps({"readings": good + bad})
    assert "Infinity" in raw
    headers = {**bearer(token), "Content-Type": "application/json"}
    r = client.post("/api/v1/ingest", content=raw, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["received"], out["accepted"], out["duplicates"], out["quarantined"]) == (
        17,
        4,
        0,
        13,
    )
    assert [x["reason"] for x in out["rejections"]] == reasons
    assert [x["index"] for x in out["rejections"]] == list(range(4, 17))
    # A replay is harmless: everything good is a duplicate now.
    r = client.post("/api/v1/ingest", json={"readings": good}, headers=bearer(token))
    assert r.json()["accepted"] == 0 and r.json()["duplicates"] == 4
    with runtime.db.session() as s:
        store = store_for(s.connection())
        pv = store.read(ids["GWA-INV"], "pv_power_w", t, t + timedelta(seconds=1))
        assert [p.value for p in pv] == [1500.0]
        devices = {
            d.serial: d for d in s.scalars(select(Device).where(Device.site_id == ids["site"]))
        }
        assert all(d.status == "online" and d.last_seen for d in devices.values())
        quarantined = s.scalar(select(func.count()).select_from(QuarantinedReading))
        assert quarantined == 13
    # O&M of the site sees the quarantine; others do not; owners may not.
    r = client.get("/api/v1/quarantine", headers=h(world, "om@I1"), params={"page_size": 100})
    assert r.status_code == 200 and r.json()["total"] == 13
    assert {q["reason"] for q in r.json()["items"]} == set(reasons)
    r = client.get("/api/v1/quarantine", headers=h(world, "om@I1"), params={"reason": "too_old"})
    assert r.json()["total"] == 1 and r.json()["items"][0]["ts"] is not None
    assert client.get("/api/v1/quarantine", headers=h(world, "om@I2")).json()["total"] == 0
    assert client.get("/api/v1/quarantine", headers=h(world, "owner@I1")).status_code == 403
    assert client.get("/api/v1/quarantine", headers=h(world, "admin@D1")).json()["total"] == 13


def test_rollups_follow_late_and_out_of_order_readings(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWR")
    token = token_for(client, world, ids["GWR"])
    day = (NOW - timedelta(days=3)).replace(hour=12, minute=0, second=0)
    counter = [
        {
            "device": "GWR-MTR",
            "point": "grid_import_energy_wh",
            "ts": iso(day + timedelta(minutes=m)),
            "value": 1000 + 10 * m,
            "unit": "Wh",
        }
        for m in range(0, 61, 5)
    ]
    # Every other reading first, then the rest late and backwards.
    first, late = counter[::2], counter[1::2][::-1]
    assert (
        client.post("/api/v1/ingest", json={"readings": first}, headers=bearer(token)).json()[
            "accepted"
        ]
        == 7
    )
    with runtime.db.session() as s:
        store = store_for(s.connection())
        hour = store.read_rollups(
            ids["GWR-MTR"], "grid_import_energy_wh", Resolution.HOUR, day, day + timedelta(hours=1)
        )
    assert [round(x.value, 6) for x in hour] == [600.0]
    r = client.post("/api/v1/ingest", json={"readings": late}, headers=bearer(token)).json()
    assert r["accepted"] == 6 and r["quarantined"] == 0
    with runtime.db.session() as s:
        store = store_for(s.connection())
        mtr = ids["GWR-MTR"]
        five = store.read_rollups(
            mtr, "grid_import_energy_wh", Resolution.FIVE_MIN, day, day + timedelta(hours=1)
        )
        assert [round(x.value, 6) for x in five] == [50.0] * 12
        days = store.read_rollups(
            mtr,
            "grid_import_energy_wh",
            Resolution.DAY,
            day - timedelta(days=1),
            day + timedelta(days=1),
        )
        assert len(days) == 1 and round(days[0].value, 6) == 600.0
        # The day is the site's local day (Europe/Berlin), starting at local midnight.
        assert days[0].start.hour in (22, 23)
        months = store.read_rollups(
            mtr,
            "grid_import_energy_wh",
            Resolution.MONTH,
            day - timedelta(days=40),
            day + timedelta(days=1),
        )
        assert round(sum(m.value for m in months), 6) == 600.0


def test_the_late_window_and_the_clock_skew_are_settings(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    """VOLTFLEET_LATE_WINDOW_DAYS and VOLTFLEET_FUTURE_SKEW_S bound what ingest accepts."""
    from voltfleet.app.telemetry.wiring import limits_of

    ids = make_site(client, world, "GWLATE")
    token = token_for(client, world, ids["GWLATE"])
    now = datetime.now(UTC).replace(microsecond=0)

    def send(ts: datetime) -> dict[str, object]:
        body = {"readings": [{"device": "GWLATE-MTR", "point": "grid_power_w", "ts": iso(ts),
                              "value": 100, "unit": "W"}]}  # fmt: skip
        r = client.post("/api/v1/ingest", json=body, headers=bearer(token))
        assert r.status_code == 200, r.text
        return dict(r.json())

    assert send(now - timedelta(days=3))["accepted"] == 1  # the default window is 30 days
    tight = runtime.settings.model_copy(update={"late_window_days": 2, "future_skew_s": 3600})
    runtime.ingest.limits = limits_of(tight)
    try:
        late = send(now - timedelta(days=2, hours=1))
        assert late["accepted"] == 0
        assert late["rejections"][0]["reason"] == "too_old"  # type: ignore[index]
        assert "2 days" in late["rejections"][0]["detail"]  # type: ignore[index]
        assert send(now + timedelta(minutes=30))["accepted"] == 1  # within the hour allowed
    finally:
        runtime.ingest.limits = limits_of(runtime.settings)
    assert send(now + timedelta(minutes=31))["rejections"][0]["reason"] == "future_timestamp"  # type: ignore[index]
