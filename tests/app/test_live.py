"""Live data and offline after silence, over readings ingested through the real endpoint:
devices go offline after a silence (and their site with them) and come back with new readings;
the JSON snapshot and the server-sent event streams carry the latest values, are bounded in
time, follow the caller's scope (404), need a credential (401) and accept the portal's cookie."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_telemetry import bearer, h, iso, make_site, token_for
from tests.support.world import PASSWORD, World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry import live_service
from voltfleet.app.telemetry.presence import OfflineSweeper, sweep_offline
from voltfleet.bootstrap import create_app
from voltfleet.store.fleet_models import Device, DeviceStatusChange
from voltfleet.store.models import Site, User


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def ingest(
    client: TestClient,
    token: str,
    readings: list[tuple[str, str, float, str]],
    at: datetime | None = None,
) -> None:
    """(device serial, point, value, unit) measured at ``at`` (five seconds ago)."""
    ts = iso(at or datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5))
    body = {
        "readings": [
            {"device": d, "point": p, "ts": ts, "value": v, "unit": u} for d, p, v, u in readings
        ]
    }
    r = client.post("/api/v1/ingest", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["quarantined"] == 0, r.json()


def statuses(runtime: Runtime, site_id: str) -> tuple[str, dict[str, str]]:
    with runtime.db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        devices = s.scalars(select(Device).where(Device.site_id == site_id))
        return site.status, {d.serial: d.status for d in devices}


@pytest.fixture
def home(client: TestClient, world: World) -> dict[str, str]:
    """A site of I1 (gateway GWL, inverter, meter), owned by owner@I1, with a token for its
    gateway."""
    ids = make_site(client, world, "GWL")
    r = client.post(
        f"/api/v1/sites/{ids['site']}/distribute",
        json={"user_id": world.accounts["owner@I1"].id},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    ids["token"] = token_for(client, world, ids["GWL"])
    return ids


FLOWING = [
    ("GWL-INV", "pv_power_w", 2.5, "kW"),
    ("GWL-INV", "battery_power_w", 400, "W"),
    ("GWL-INV", "soc", 55, "%"),
    ("GWL-MTR", "grid_power_w", -600, "W"),
    ("GWL", "grid_frequency_hz", 50.02, "Hz"),
]


def test_devices_go_offline_after_silence_and_come_back_with_new_readings(
    client: TestClient, world: World, runtime: Runtime, home: dict[str, str]
) -> None:
    r = client.post(
        f"/api/v1/sites/{home['site']}/devices",
        json={"kind": "battery", "serial": "GWL-BAT", "parent_serial": "GWL-INV"},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text  # bound, never heard of
    assert statuses(runtime, home["site"]) == (
        "offline",
        {"GWL": "unknown", "GWL-INV": "unknown", "GWL-MTR": "unknown", "GWL-BAT": "unknown"},
    )
    ingest(client, home["token"], FLOWING)
    site_status, devices = statuses(runtime, home["site"])
    assert site_status == "online"
    assert devices == {
        "GWL": "online",
        "GWL-INV": "online",
        "GWL-MTR": "online",
        "GWL-BAT": "unknown",
    }

    settings = runtime.settings
    now = datetime.now(UTC)
    with runtime.db.session() as s:
        assert (
            sweep_offline(s, now + timedelta(seconds=settings.offline_after_s - 5), settings) == []
        )
    assert statuses(runtime, home["site"])[0] == "online"

    later = now + timedelta(seconds=settings.offline_after_s + 1)
    with runtime.db.session() as s:
        gone = sweep_offline(s, later, settings)
        assert sorted(d.serial for d in gone) == ["GWL", "GWL-INV", "GWL-MTR"]
    site_status, devices = statuses(runtime, home["site"])
    assert site_status == "offline"
    assert devices["GWL-BAT"] == "unknown"  # never seen: left as it was
    assert {devices[k] for k in ("GWL", "GWL-INV", "GWL-MTR")} == {"offline"}
    with runtime.db.session() as s:
        changes = list(
            s.scalars(
                select(DeviceStatusChange.status)
                .where(DeviceStatusChange.device_id == home["GWL-INV"])
                .order_by(DeviceStatusChange.at)
            )
        )
        assert changes == ["online", "offline"]
        assert sweep_offline(s, later + timedelta(minutes=5), settings) == []  # no repeat

    r = client.get(f"/api/v1/sites/{home['site']}", headers=h(world, "om@I1"))
    assert r.status_code == 200 and r.json()["status"] == "offline", r.text
    r = client.get(f"/api/v1/sites/{home['site']}/status", headers=h(world, "om@I1"))
    day = {d["serial"]: d["statuses"] for d in r.json()["devices"]}
    assert day["GWL-INV"] == ["online", "offline"]  # the day's history has the change

    ingest(client, home["token"], [("GWL-INV", "pv_power_w", 1000, "W")])
    site_status, devices = statuses(runtime, home["site"])
    assert site_status == "online"
    assert devices["GWL-INV"] == "online" and devices["GWL"] == "online"
    assert devices["GWL-MTR"] == "offline"  # it did not speak


def test_snapshot_has_the_latest_values_flows_and_statuses(
    client: TestClient, world: World, runtime: Runtime, home: dict[str, str]
) -> None:
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    ingest(client, home["token"], [("GWL-INV", "pv_power_w", 100, "W")], t)
    ingest(client, home["token"], FLOWING, t)  # the same instant: the first value stays
    r = client.get(f"/api/v1/sites/{home['site']}/live/now", headers=h(world, "owner@I1"))
    assert r.status_code == 200, r.text
    live = r.json()
    assert live["site_id"] == home["site"] and live["device_id"] is None
    assert live["site_status"] == "online" and live["timezone"] == "Europe/Berlin"
    flows = live["flows"]
    assert flows["pv_power_w"] == 100  # first value of a key wins
    assert flows["grid_power_w"] == -600 and flows["battery_power_w"] == 400
    assert flows["load_power_w"] == 0  # pv + grid - battery < 0: never below zero
    assert flows["load_derived"] is True and flows["soc"] == pytest.approx(0.55)
    by_serial = {d["serial"]: d for d in live["devices"]}
    assert set(by_serial) == {"GWL", "GWL-INV", "GWL-MTR"}
    inv = by_serial["GWL-INV"]
    assert inv["status"] == "online" and inv["last_seen"] is not None
    values = {v["point"]: (v["value"], v["unit"]) for v in inv["values"]}
    assert values == {
        "pv_power_w": (100, "W"),
        "battery_power_w": (400, "W"),
        "soc": (pytest.approx(0.55), "fraction"),
    }
    assert by_serial["GWL"]["values"][0]["point"] == "grid_frequency_hz"

    # A newer reading replaces it; the load (not measured) follows the balance.
    ingest(client, home["token"], [("GWL-INV", "pv_power_w", 2000, "W")], t + timedelta(seconds=2))
    flows = client.get(f"/api/v1/sites/{home['site']}/live/now", headers=h(world, "om@I1")).json()[
        "flows"
    ]
    assert flows["pv_power_w"] == 2000
    assert flows["load_power_w"] == pytest.approx(2000 - 600 - 400)

    # Meters left out of the statistical range do not count in the flows (no double count).
    r = client.put(
        f"/api/v1/sites/{home['site']}/statistical-range",
        json={"meters": False},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    flows = client.get(f"/api/v1/sites/{home['site']}/live/now", headers=h(world, "om@I1")).json()[
        "flows"
    ]
    assert flows["grid_power_w"] is None and flows["load_power_w"] is None


def events(text: str) -> list[dict[str, str]]:
    """The events of a text/event-stream body, comments left out."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if fields:
            out.append(fields)
    return out


@pytest.fixture
def quick(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """Streams that tick every 0.2 s and end after 0.7 s."""
    monkeypatch.setattr(runtime.settings, "live_interval_s", 0.2)
    monkeypatch.setattr(runtime.settings, "live_max_s", 0.7)
    return runtime


def test_streams_send_at_once_then_each_interval_and_end_when_bounded(
    client: TestClient, world: World, quick: Runtime, home: dict[str, str]
) -> None:
    ingest(client, home["token"], FLOWING)
    started = time.monotonic()
    r = client.get(f"/api/v1/sites/{home['site']}/live", headers=h(world, "om@I1"))
    took = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-store"
    got = events(r.text)
    assert 3 <= len(got) <= 5, got  # at 0, 0.2, 0.4, 0.6 s
    assert 0.6 <= took < 5, took
    assert got[0]["event"] == "live" and got[0]["retry"] == str(live_service.RETRY_MS)
    assert all("retry" not in e for e in got[1:])
    first = json.loads(got[0]["data"])
    assert first["flows"]["pv_power_w"] == 2500 and first["flows"]["soc"] == pytest.approx(0.55)
    assert {d["serial"]: d["status"] for d in first["devices"]}["GWL-MTR"] == "online"
    assert json.loads(got[-1]["data"])["at"] > first["at"]

    r = client.get(f"/api/v1/devices/{home['GWL-MTR']}/live", headers=h(world, "om@I1"))
    assert r.status_code == 200
    live = json.loads(events(r.text)[0]["data"])
    assert live["device_id"] == home["GWL-MTR"]
    assert [d["serial"] for d in live["devices"]] == ["GWL-MTR"]
    assert live["flows"]["grid_power_w"] == -600 and live["flows"]["pv_power_w"] is None


def test_other_tenants_get_404_strangers_401_and_the_portal_cookie_works(
    client: TestClient, world: World, quick: Runtime, home: dict[str, str]
) -> None:
    site, device = home["site"], home["GWL-INV"]
    urls = [
        f"/api/v1/sites/{site}/live",
        f"/api/v1/sites/{site}/live/now",
        f"/api/v1/devices/{device}/live",
    ]
    for url in urls:
        for who in ("om@I2", "owner@I2", "admin@D2"):
            r = client.get(url, headers=h(world, who))
            assert r.status_code == 404, (url, who, r.text)
            assert r.json()["code"] == "not_found"
        for headers in ({}, bearer("nonsense"), {"X-API-Key": "vfk_nope"}):
            r = client.get(url, headers=headers)
            assert r.status_code == 401, (url, r.text)
            assert "not signed in" in r.json()["detail"]
        assert client.get("/api/v1/sites/nope/live", headers=h(world, "om@I1")).status_code == 404

    # The browser's EventSource sends the portal's session cookie, and nothing else.
    r = client.post(
        "/login",
        data={"email": "owner.i1@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
    client.cookies.clear()
    client.post(
        "/login",
        data={"email": "owner.i2@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert client.get(urls[0]).status_code == 404
    client.cookies.clear()
    client.cookies.set("vf_session", "forged")
    assert client.get(urls[0]).status_code == 401


def test_a_stream_ends_when_its_caller_loses_access(
    client: TestClient, world: World, runtime: Runtime, home: dict[str, str]
) -> None:
    with runtime.db.session() as s:
        owner = s.scalars(select(User).where(User.email == "owner.i1@example.com")).one()
        target = live_service.LiveTarget(
            owner.id, owner.password_changed_at, "127.0.0.1", site_id=home["site"]
        )
    data = json.loads(live_service.tick(runtime.db, runtime.settings, target, runtime.clock.now()))
    assert data["site_id"] == home["site"]

    # The site goes to another owner: the next tick refuses.
    r = client.post(
        f"/api/v1/sites/{home['site']}/distribute",
        json={"user_id": None},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    with pytest.raises(live_service.AccessLost, match="site not found"):
        live_service.tick(runtime.db, runtime.settings, target, runtime.clock.now())

    # A changed password ends the streams opened with the old one.
    with runtime.db.session() as s:
        om = s.scalars(select(User).where(User.email == "om.i1@example.com")).one()
        stale = live_service.LiveTarget(
            om.id,
            om.password_changed_at - timedelta(seconds=5),
            "127.0.0.1",
            site_id=home["site"],
        )
    with pytest.raises(live_service.AccessLost, match="sign in again"):
        live_service.tick(runtime.db, runtime.settings, stale, runtime.clock.now())


def sweeper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "offline-sweeper" and t.is_alive()]


def test_the_sweeper_runs_in_the_background_only_when_asked(
    client: TestClient, runtime: Runtime, home: dict[str, str]
) -> None:
    assert sweeper_threads() == []  # mode "test": the tests sweep themselves
    app = create_app(runtime=runtime, migrate=False, background=True)
    with TestClient(app):
        assert len(sweeper_threads()) == 1
    assert sweeper_threads() == []  # stopped with the application

    ingest(client, home["token"], FLOWING)
    with runtime.db.session() as s:
        inv = s.get(Device, home["GWL-INV"])
        assert inv is not None and inv.status == "online"
        inv.last_seen = datetime.now(UTC) - timedelta(seconds=runtime.settings.offline_after_s + 5)
    sweeper = OfflineSweeper(runtime.db, runtime.settings)
    sweeper.interval_s = 0.05
    sweeper.start()
    try:
        deadline = time.monotonic() + 5
        while statuses(runtime, home["site"])[1]["GWL-INV"] != "offline":
            assert time.monotonic() < deadline, "the sweeper did not mark the silent inverter"
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert sweeper_threads() == []
    assert statuses(runtime, home["site"]) == (
        "online",  # the gateway and the meter spoke just now
        {"GWL": "online", "GWL-INV": "offline", "GWL-MTR": "online"},
    )
