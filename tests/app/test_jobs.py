"""The platform's periodic jobs run through the in-process adapter on a manual clock: a device
that spoke goes offline after its silence (with a status-history row), a queued command expires
after its time to live, the price fetch asks for the clock's day, all by moving the clock,
never by sleeping; ``serve`` runs the jobs itself only when they run in-process."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from tests.app.test_alarms import home
from tests.app.test_telemetry import bearer, h, iso
from tests.support.world import World, build_world
from tests.unit.market.test_fetch import VendorServer
from voltfleet.app.commands.plan_cycle import PLAN_CYCLE
from voltfleet.app.devices.live_switch import LIVE_DATA_RENEW
from voltfleet.app.exchange.jobs import EXCHANGE_RATES, MARKET_PRICE_CHECK
from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import create_app
from voltfleet.clock import ManualClock
from voltfleet.jobs.inprocess import QUEUE_THREAD, InProcessJobs
from voltfleet.jobs.platform import platform_jobs
from voltfleet.jobs.procrastinate_jobs import ProcrastinateJobs
from voltfleet.settings import Settings
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device, DeviceStatusChange
from voltfleet.store.money_models import MarketPriceRow
from voltfleet.usecases.jobs import COMMAND_SWEEP, MARKET_PRICES, OFFLINE_SWEEP


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def vendor() -> Iterator[VendorServer]:
    """The price vendors' stand-in from the market tests, on 127.0.0.1."""
    server = VendorServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
    assert sorted(s.name for s in jobs.registry.periodic()) == [
        PLAN_CYCLE,  # every 900 s: the sites whose battery plan was asked for are re-planned
        COMMAND_SWEEP,
        EXCHANGE_RATES,  # daily, 15:30 UTC (the ECB's reference rates)
        LIVE_DATA_RENEW,  # every 300 s: live-data requests renewed while enabled
        OFFLINE_SWEEP,
    ]
    assert MARKET_PRICES not in jobs.registry  # no market source configured
    assert MARKET_PRICE_CHECK not in jobs.registry
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


def test_the_price_fetch_is_a_periodic_job_when_a_market_source_is_configured(
    runtime: Runtime, vendor: VendorServer
) -> None:
    settings = runtime.settings.model_copy(
        update={"market_sources": "awattar:DE", "market_base_url": vendor.base_url}
    )
    clock = ManualClock(datetime(2024, 6, 16, 9, 30, tzinfo=UTC))
    jobs = InProcessJobs(platform_jobs(runtime.db, settings), clock)
    assert jobs.next_due(MARKET_PRICES) == clock.now() + timedelta(hours=1)
    clock.advance(timedelta(hours=1))
    assert MARKET_PRICES in jobs.run_due()
    # the window starts the day before the clock's day (not the wall clock's)
    (path, query), *_ = vendor.requests
    assert path == "/v1/marketdata"
    assert int(query["start"]) == int(datetime(2024, 6, 15, tzinfo=UTC).timestamp() * 1000)
    with runtime.db.session() as s:
        stored = s.scalars(
            select(MarketPriceRow).where(
                MarketPriceRow.source == "awattar", MarketPriceRow.area == "DE"
            )
        ).all()
    assert len(stored) == 24 and {p.currency for p in stored} == {"EUR"}


def test_a_bad_market_source_or_a_worker_on_sqlite_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown price source 'epex'"):
        Settings(market_sources="epex:DE")
    with pytest.raises(ValidationError, match="write source:area"):
        Settings(market_sources="awattar")
    assert Settings(market_sources=" awattar:DE, nordpool:SE3 ").market_source_pairs == [
        ("awattar", "DE"),
        ("nordpool", "SE3"),
    ]
    with pytest.raises(ValidationError, match="VOLTFLEET_JOBS=worker needs PostgreSQL"):
        Settings(jobs="worker")
    assert Settings().jobs_mode == "inprocess"
    assert Settings(database_url="postgresql+psycopg://u@h/db").jobs_mode == "worker"
    assert Settings(database_url="postgresql+psycopg://u@h/db", jobs="inprocess").jobs_mode == (
        "inprocess"
    )


def job_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.is_alive()} & {OFFLINE_SWEEP, QUEUE_THREAD}


@pytest.mark.parametrize(
    ("runtime", "jobs_setting"),
    [("sqlite", ""), ("sqlite", "inprocess")]
    + [("postgresql", j) for j in ("", "inprocess", "worker")],
    indirect=["runtime"],
)
def test_serve_runs_the_jobs_itself_only_when_they_run_in_process(
    runtime: Runtime, jobs_setting: str
) -> None:
    on_pg = runtime.db.url.startswith("postgresql")
    settings = runtime.settings.model_copy(update={"mode": "dev", "jobs": jobs_setting})
    rt = dataclasses.replace(runtime, settings=settings, jobs=None)
    app = create_app(runtime=rt, migrate=False)  # background: from the settings
    in_process = settings.jobs_mode == "inprocess"
    assert in_process == (jobs_setting == "inprocess" or (jobs_setting == "" and not on_pg))
    assert isinstance(rt.jobs, InProcessJobs if in_process else ProcrastinateJobs)
    with TestClient(app):
        assert job_threads() == ({OFFLINE_SWEEP, QUEUE_THREAD} if in_process else set())
    assert job_threads() == set()
    assert runtime.jobs is not None  # the test runtime: jobs there, never started
