"""The demo's power-management location: the first home, a three-phase 35 A main fuse metered
by the home's meter, two groups, five connectors, solar balancing; the waiting car at the
carport is given current as the home's meter allows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from voltfleet.app.power.service import view
from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.demo import HOMES, demo_serial, seed_demo
from voltfleet.domain.telemetry.readings import Reading
from voltfleet.settings import Settings
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.timeseries import store_for


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(
        Settings(
            mode="test",
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'voltfleet.db'}",
            secret_key="demo-power-" + "s" * 40,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        )
    )
    create_app(runtime=rt)
    yield rt
    rt.db.engine.dispose()


def test_the_demo_location_follows_the_house_load_and_the_sun(runtime: Runtime) -> None:
    seed_demo(runtime)
    now = datetime.now(UTC).replace(microsecond=0)
    with runtime.db.session() as s:
        site = s.scalar(select(Site).where(Site.name == HOMES[0][0]))
        assert site is not None
        power = view(s, site, now)
        assert power.configured and power.grid_type == "3x400" and power.mode == "solar_balancing"
        root = next(g for g in power.groups if g.parent_id is None)
        assert root.fuse_a == 35 and root.meter_device_id is not None
        assert sorted(g.name for g in power.groups if g.parent_id) == ["Carport", "Garage"]
        placed = [c for c in power.connectors if c.group_id]
        assert len(placed) == 5
        # the meter is silent before the simulator starts: the car waits at the minimum
        assert root.meter_stale and [c.target_a for c in placed if c.wants_current] == [6.0]
        meter = s.scalar(select(Device).where(Device.serial == demo_serial(0, "MTR")))
        assert meter is not None
        # the sun: 4.6 kW exported -> the car takes the surplus (6.6 A on three phases)
        store_for(s.connection()).write(
            [Reading(meter.id, "grid_power_w", now - timedelta(seconds=2), -4600.0)]
        )
        sunny = view(s, site, now)
        assert [c.target_a for c in sunny.connectors if c.wants_current] == [6.6]
        assert sunny.surplus_w == pytest.approx(4600, abs=1)
