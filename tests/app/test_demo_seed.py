"""The demo's seed: the home on the dynamic tariff has its battery, and the day plan it followed
over the day of history as acknowledged plan commands, so its site page shows plan against
reported power as soon as the simulated homes have back-filled that day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.demo import (
    DEMO_HISTORY,
    DYNAMIC_BATTERY_W,
    DYNAMIC_HOME,
    HOMES,
    demo_serial,
    seed_demo,
)
from voltfleet.settings import Settings
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(
        Settings(
            mode="test",
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'voltfleet.db'}",
            secret_key="demo-seed-" + "s" * 40,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        )
    )
    create_app(runtime=rt)  # migrates
    yield rt
    rt.db.engine.dispose()


def test_the_dynamic_home_has_a_battery_with_a_day_of_followed_plan(runtime: Runtime) -> None:
    before = datetime.now(UTC)
    seed_demo(runtime)
    with runtime.db.session() as s:
        site = s.scalar(select(Site).where(Site.name == HOMES[DYNAMIC_HOME][0]))
        assert site is not None
        battery = s.scalar(select(Device).where(Device.serial == demo_serial(DYNAMIC_HOME, "BAT")))
        gateway = s.scalar(select(Device).where(Device.serial == demo_serial(DYNAMIC_HOME, "GW")))
        assert battery is not None and gateway is not None
        assert (battery.site_id, battery.parent_id, battery.kind) == (
            site.id,
            gateway.id,
            "battery",
        )
        assert battery.rated_power_w == DYNAMIC_BATTERY_W
        assert battery.live_data == gateway.live_data  # computed, not the column's default
        rows = list(
            s.scalars(
                select(Command).where(Command.device_id == battery.id).order_by(Command.not_before)
            )
        )
        # only that home's battery has a seeded plan
        assert s.scalar(select(Command).where(Command.device_id != battery.id)) is None
    assert rows, "no plan history"
    assert {(r.source, r.state, r.kind, r.gateway_id) for r in rows} == {
        ("plan", "acknowledged", "battery_mode", gateway.id)
    }
    # one command per change of plan, end to end over the day of history, none in the future
    assert rows[0].not_before <= before - DEMO_HISTORY + timedelta(hours=1)
    assert rows[-1].expires_at <= datetime.now(UTC)
    assert rows[-1].expires_at >= before - timedelta(minutes=15)
    for a, b in pairwise(rows):
        assert a.expires_at == b.not_before and a.params != b.params
    modes = {r.params["mode"] for r in rows}
    assert {"charge", "discharge", "self_consumption"} <= modes
    for r in rows:
        if r.params["mode"] != "self_consumption":
            assert 0 < abs(r.params["battery_power_w"]) <= DYNAMIC_BATTERY_W


def test_the_seed_runs_once(runtime: Runtime) -> None:
    seed_demo(runtime)
    seed_demo(runtime)
    with runtime.db.session() as s:
        assert len(list(s.scalars(select(Device).where(Device.kind == "battery")))) == 1
        assert len(list(s.scalars(select(Site)))) == len(HOMES)


def test_demo_gateways_run_a_current_firmware_so_live_data_is_supported(runtime: Runtime) -> None:
    # Seeded without a firmware version, every demo device said "firmware too old" for live data.
    seed_demo(runtime)
    with runtime.db.session() as s:
        gateways = list(s.scalars(select(Device).where(Device.kind == "gateway")))
        assert gateways
        for gateway in gateways:
            assert gateway.fw_arm, gateway.serial
            assert gateway.live_data == "supported", (gateway.serial, gateway.fw_arm)
        battery = s.scalar(select(Device).where(Device.serial == demo_serial(DYNAMIC_HOME, "BAT")))
        assert battery is not None and battery.live_data == "supported"
