"""``voltfleet demo``'s simulated homes: the hook the demo starts, against a real server on
loopback with the demo's accounts, stores readings within seconds and stops when told."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.test_simulated_fleet import Server
from voltfleet.demo import DEMO_PASSWORD, seed_demo
from voltfleet.simulator.demo_fleet import DemoFleet, local_url
from voltfleet.store.fleet_models import Device
from voltfleet.store.timeseries import store_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    seed_demo(srv.runtime)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def newest_import_reading(server: Server) -> datetime | None:
    now = datetime.now(UTC)
    with server.runtime.db.engine.connect() as conn:
        meters = conn.scalars(select(Device.id).where(Device.serial.like("SIMDEMO%-MTR"))).all()
        store = store_for(conn)
        seen = [
            s.ts
            for m in meters
            for s in store.read(m, "grid_import_energy_wh", now - timedelta(hours=6), now)
        ]
    return max(seen) if seen else None


def test_the_demo_fleet_backfills_then_runs_live_and_stops(server: Server) -> None:
    fleet = DemoFleet(
        server.url,
        "installer@demo.voltfleet",
        DEMO_PASSWORD,
        sites=2,
        history_hours=1.0,
        paced_minutes=2.0,
    )
    fleet.start()
    try:
        deadline = time.monotonic() + 60
        newest = None
        while time.monotonic() < deadline and fleet.running:
            newest = newest_import_reading(server)
            # back-filled, then at speed up to the real clock
            if newest is not None and newest >= datetime.now(UTC) - timedelta(minutes=3):
                break
            time.sleep(0.5)
        assert fleet.error is None
        assert newest is not None, "no readings stored"
        assert newest >= datetime.now(UTC) - timedelta(minutes=3)
    finally:
        t = time.monotonic()
        assert fleet.stop(timeout_s=10)
    assert time.monotonic() - t < 5
    assert fleet.report is not None and fleet.report.stopped_early
    s = fleet.report.stats
    assert s.failed_readings == 0 and s.quarantined == 0, s.rejections[:5]


def test_local_url_reaches_a_wildcard_bind() -> None:
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("::", 80) == "http://[::1]:80"
    assert local_url("127.0.0.1", 8799) == "http://127.0.0.1:8799"
