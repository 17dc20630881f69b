"""End to end: a simulated home whose EV comes home in the evening and leaves in the morning; its
charger speaks OCPP 1.6J to a real voltfleet (uvicorn on loopback, fresh SQLite) over a real
WebSocket. The platform must hold one charging session whose energy is what the simulator
delivered, the charger's energy counter must say the same, and the EV's readings must have come
only from the charger (never from the gateway)."""

from __future__ import annotations

import time as clock
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from tests.support.live_server import live_server
from voltfleet.accounts import ensure_platform
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.demo import DEMO_PASSWORD, seed_demo
from voltfleet.domain.access import OrgType
from voltfleet.settings import Settings
from voltfleet.simulator.demo_fleet import DemoFleet
from voltfleet.simulator.fleet import FleetConfig, run_fleet_sync
from voltfleet.simulator.model import EvSpec
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import QuarantinedReading
from voltfleet.store.timeseries import store_for

EMAIL = "installer@ev.test"
PASSWORD = "EvCharge-2026"
BERLIN = ZoneInfo("Europe/Berlin")


def _runtime(tmp_path: Path) -> Runtime:
    settings = Settings(
        mode="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'voltfleet.db'}",
        secret_key="e2e-secret-" + "e" * 40,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    return build_runtime(settings)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    runtime = _runtime(tmp_path)
    app = create_app(runtime=runtime)
    with runtime.db.session() as s:
        dist = build_org(ensure_platform(s), "EV Distribution", OrgType.DISTRIBUTOR, "DE")
        s.add(dist)
        s.flush()
        inst = build_org(dist, "EV Installers", OrgType.INSTALLER, "DE")
        s.add(inst)
        s.flush()
        new_user(
            s,
            runtime,
            email=EMAIL,
            username="ev installer",
            password=PASSWORD,
            org_id=inst.id,
            role="admin",
        )
    with live_server(app) as url:
        yield runtime, url
    runtime.db.engine.dispose()


def test_the_simulated_charger_charges_an_ev_over_ocpp(platform: tuple[Runtime, str]) -> None:
    runtime, url = platform
    # From 16:00 two days ago (Berlin) to 10:00 the day after: the car comes home at 18:00 and
    # leaves at 07:30, so one whole session lies inside the run.
    day = datetime.now(BERLIN).date() - timedelta(days=2)
    start = datetime.combine(day, time(16, 0), BERLIN).astimezone(UTC)
    ev = EvSpec(
        arrive_hour=18.0,
        depart_hour=7.5,
        arrive_spread_h=0.0,
        depart_spread_h=0.0,
        at_home_probability=1.0,
    )
    config = FleetConfig(
        sites=1,
        hours=18,
        step_s=300,
        speed=float("inf"),
        seed=7,
        start=start,
        ev=ev,
        ev_homes=(0,),
        wall_limit_s=240,
    )
    report = run_fleet_sync(url, EMAIL, PASSWORD, config)
    assert not report.stopped_early and report.stats.failed_readings == 0
    [charger] = report.chargers
    assert (charger.sessions_started, charger.sessions_stopped, charger.lost) == (1, 1, 0)
    delivered = report.totals[0].ev_wh
    assert delivered > 1000, report.summary()

    with runtime.db.session() as s:
        [session] = list(s.scalars(select(ChargingSession)))
        assert session.stop_reason == "EVDisconnected" and session.energy_wh is not None
        assert abs(session.energy_wh - delivered) < 1.0  # a 1 Wh register
        assert session.started_at.astimezone(BERLIN).hour == 18
        assert session.stopped_at is not None and session.stopped_at.astimezone(BERLIN).hour == 7
        evc = s.scalar(select(Device).where(Device.kind == "charger"))
        assert evc is not None and evc.id == session.device_id and evc.model
        others = list(s.scalars(select(Device.id).where(Device.kind != "charger")))
        assert not list(s.scalars(select(QuarantinedReading)))
        store = store_for(s.connection())
        lo, hi = start - timedelta(hours=1), start + timedelta(hours=19)
        counter = store.read(evc.id, "ev_energy_wh", lo, hi)
        assert abs((counter[-1].value - counter[0].value) - delivered) < 1.0
        power = store.read(evc.id, "ev_power_w", lo, hi)
        assert max(p.value for p in power) == pytest.approx(ev.max_power_w, rel=1e-3)
        assert power[-1].value == 0  # after the stop
        assert len(store.read(evc.id, "ev_current_l1_a", lo, hi)) > 10
        for device_id in others:  # the EV's readings came through the charger only
            assert not store.read(device_id, "ev_energy_wh", lo, hi)
            assert not store.read(device_id, "ev_power_w", lo, hi)

    # The session through the API, as the installer sees it.
    with httpx.Client(base_url=url, trust_env=False) as http:
        r = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.get("/api/v1/charging/sessions", headers=headers)
        [item] = r.json()["items"]
        assert abs(item["energy_wh"] - delivered) < 1.0 and not item["active"]


def test_the_demo_has_an_ev_charging_within_two_minutes(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    app = create_app(runtime=runtime)
    seed_demo(runtime)
    with live_server(app) as url:
        fleet = DemoFleet(url, "installer@demo.voltfleet", DEMO_PASSWORD, sites=2)
        t0 = clock.monotonic()
        fleet.start()
        try:
            charging = None
            while clock.monotonic() - t0 < 120 and fleet.running and charging is None:
                with runtime.db.session() as s:
                    # the EV that came home just before the start (the back-filled day has
                    # the day before's session, closed when that car left)
                    charging = s.scalar(
                        select(ChargingSession).where(
                            ChargingSession.stopped_at.is_(None),
                            ChargingSession.power_w > 0,
                            ChargingSession.started_at > datetime.now(UTC) - timedelta(minutes=15),
                        )
                    )
                clock.sleep(0.5)
            waited = clock.monotonic() - t0
            assert fleet.error is None
            assert charging is not None, "no EV charging in the demo within two minutes"
            assert charging.power_w == pytest.approx(7400.0)
            # it arrived a few minutes before the start: "now", not back in the history
            assert charging.started_at > datetime.now(UTC) - timedelta(minutes=15)
            assert waited < 120
        finally:
            assert fleet.stop(timeout_s=15)
    runtime.db.engine.dispose()


def test_a_charger_that_comes_back_goes_on_counting(platform: tuple[Runtime, str]) -> None:
    """A second run with the same tag finds the home: its charger's register goes on from the
    stored one (no counter going backwards, nothing quarantined), and the session the first run
    left open is closed when the charger starts a new one."""
    runtime, url = platform
    day = datetime.now(BERLIN).date() - timedelta(days=2)
    start = datetime.combine(day, time(16, 0), BERLIN).astimezone(UTC)
    ev = EvSpec(arrive_hour=18.0, arrive_spread_h=0.0, depart_spread_h=0.0, at_home_probability=1.0)
    base = FleetConfig(
        sites=1, step_s=300, speed=float("inf"), seed=8, start=start, ev=ev, ev_homes=(0,)
    )
    first = run_fleet_sync(url, EMAIL, PASSWORD, replace(base, hours=4))  # ends plugged in
    second = run_fleet_sync(url, EMAIL, PASSWORD, replace(base, hours=18))
    assert second.reattached == 1
    assert first.chargers[0].sessions_started == 1 and first.chargers[0].sessions_stopped == 0
    delivered = first.totals[0].ev_wh + second.totals[0].ev_wh
    with runtime.db.session() as s:
        assert not list(s.scalars(select(QuarantinedReading)))
        rows = list(s.scalars(select(ChargingSession).order_by(ChargingSession.started_at)))
        assert [r.stop_reason for r in rows] == ["Other", "EVDisconnected"]
        assert rows[0].stopped_at == rows[1].started_at
        assert rows[1].meter_start_wh == rows[0].meter_stop_wh
        evc = s.scalar(select(Device).where(Device.kind == "charger"))
        assert evc is not None
        counter = store_for(s.connection()).read(
            evc.id, "ev_energy_wh", start - timedelta(hours=1), start + timedelta(hours=19)
        )
        values = [c.value for c in counter]
        assert values == sorted(values)
        assert abs((values[-1] - values[0]) - delivered) < 2.0
