"""The platform's periodic jobs run through the in-process adapter on a manual clock: a device
that spoke goes offline after its silence (with a status-history row), a queued command expires
after its time to live, all by moving the clock, never by sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_alarms import home
from tests.app.test_telemetry import bearer, h, iso
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import platform_jobs
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device, DeviceStatusChange
from voltfleet.usecases.jobs import COMMAND_SWEEP, MARKET_PRICES, OFFLINE_SWEEP


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_a_manual_clock_moves_a_device_offline_and_a_command_to_expired(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWJ1")
    now = datetime.now(UTC).replace(microsecond=0)
    r = client.post(
        "/api/v1/ingest",
        json={
            "readings": [
                {"device": d, "point": "pv_power_w", "ts": iso(now), "value": 100.0, "unit": "W"}
                for d in ("GWJ1-INV",)
            ]
        },
        headers=bearer(token),
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    r = client.post(
        f"/api/v1/devices/{ids['GWJ1-BAT']}/commands",
        json={"kind": "battery_mode", "params": {"mode": "idle"}, "ttl_s": 120},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    command_id = r.json()["id"]
    inv = ids["GWJ1-INV"]

    def inverter() -> tuple[str, list[str]]:
        with runtime.db.session() as s:
            device = s.get(Device, inv)
            assert device is not None
            history = s.scalars(
                select(DeviceStatusChange.status)
                .where(DeviceStatusChange.device_id == inv)
                .order_by(DeviceStatusChange.at)
            ).all()
            return device.status, list(history)

    def command_state() -> str:
        with runtime.db.session() as s:
            row = s.get(Command, command_id)
            assert row is not None
            return row.state

    settings = runtime.settings
    assert settings.offline_after_s == 300 and not settings.market_sources
    clock = ManualClock(datetime.now(UTC))
    jobs = InProcessJobs(platform_jobs(runtime.db, settings), clock)
    assert sorted(s.name for s in jobs.registry.periodic()) == [COMMAND_SWEEP, OFFLINE_SWEEP]
    assert MARKET_PRICES not in jobs.registry  # no market source configured
    assert jobs.run_due() == []  # nothing is due at start
    assert inverter() == ("online", ["online"])

    clock.advance(timedelta(seconds=60))  # both jobs are due; nothing to change yet
    assert sorted(jobs.run_due()) == [COMMAND_SWEEP, OFFLINE_SWEEP]
    assert inverter() == ("online", ["online"]) and command_state() == "queued"

    clock.advance(timedelta(seconds=90))  # past the command's 120 s, inside the 300 s silence
    assert sorted(jobs.run_due()) == [COMMAND_SWEEP, OFFLINE_SWEEP]
    assert command_state() == "expired"
    assert inverter() == ("online", ["online"])

    clock.advance(timedelta(seconds=200))  # 350 s of silence
    assert OFFLINE_SWEEP in jobs.run_due()
    assert inverter() == ("offline", ["online", "offline"])
    with runtime.db.session() as s:
        change = s.scalars(
            select(DeviceStatusChange).where(
                DeviceStatusChange.device_id == inv, DeviceStatusChange.status == "offline"
            )
        ).one()
        assert change.at == clock.now()  # the job's now is the clock's, not the wall's

    clock.advance(timedelta(seconds=60))  # a later sweep records nothing more
    assert OFFLINE_SWEEP in jobs.run_due()
    assert inverter() == ("offline", ["online", "offline"])
