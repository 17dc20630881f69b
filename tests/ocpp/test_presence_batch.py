"""Heartbeats written in batches (app/charging/presence_batch.py): a Heartbeat is answered
without a transaction of its own, its instant reaches ``last_seen`` within the flush period,
nothing noted is lost when the connection ends or the process stops, and the offline sweep still
marks a charger that went silent offline (a ManualClock steps the time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ocpp.v16 import call
from sqlalchemy import func, select

from tests.app.test_ocpp import charge_point
from voltfleet.app.charging.presence_batch import PresenceBatch, interval_for, presence_batch
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry.presence import sweep_offline
from voltfleet.clock import ManualClock
from voltfleet.store.fleet_models import Device, DeviceStatusChange

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def manual(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    clock = ManualClock(T0)
    monkeypatch.setattr(runtime, "clock", clock)
    return clock


@pytest.fixture
def batch(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[PresenceBatch]:
    """The runtime's batch with its thread stopped and a period of an hour: only the test
    flushes (the thread starts again, asleep, with the first note)."""
    found = presence_batch(runtime)
    found.stop()
    monkeypatch.setattr(found, "flush_s", 3600.0)
    yield found
    found.stop()


def device(runtime: Runtime, device_id: str) -> tuple[str, datetime | None, int]:
    """(status, last_seen, status-history rows) of the device."""
    with runtime.db.session() as s:
        d = s.get(Device, device_id)
        assert d is not None
        rows = s.scalar(
            select(func.count())
            .select_from(DeviceStatusChange)
            .where(DeviceStatusChange.device_id == device_id)
        )
        return d.status, d.last_seen, int(rows or 0)


async def boot(cp: object) -> None:
    await cp.call(call.BootNotification(charge_point_vendor="ACME", charge_point_model="W"))  # type: ignore[attr-defined]


def test_a_heartbeat_is_noted_not_committed_and_written_by_the_flush(
    base_url: str, charger: dict[str, str], runtime: Runtime, manual: ManualClock,
    batch: PresenceBatch,
) -> None:  # fmt: skip
    dev = charger["charger"]

    async def run() -> None:
        async with charge_point(base_url, charger["serial"], charger["token"]) as (cp, _):
            await boot(cp)
            assert device(runtime, dev)[:2] == ("online", T0)
            manual.advance(timedelta(seconds=90))
            answer = await cp.call(call.Heartbeat(), suppress=False)
            assert answer.current_time
            # answered; nothing written yet: the instant waits in memory for the flush
            assert device(runtime, dev)[1] == T0 and batch.pending() == 1
            assert await asyncio.to_thread(batch.flush) == 1
            assert device(runtime, dev)[1] == T0 + timedelta(seconds=90)
            assert batch.pending() == 0

    asyncio.run(run())


def test_a_heartbeat_reaches_last_seen_within_the_flush_period(
    base_url: str, charger: dict[str, str], runtime: Runtime, manual: ManualClock,
    batch: PresenceBatch, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(batch, "flush_s", 0.2)  # the thread is started by the first note
    dev = charger["charger"]

    async def run() -> float:
        async with charge_point(base_url, charger["serial"], charger["token"]) as (cp, _):
            await boot(cp)
            manual.advance(timedelta(seconds=30))
            await cp.call(call.Heartbeat(), suppress=False)
            t = time.monotonic()
            while device(runtime, dev)[1] != T0 + timedelta(seconds=30):
                assert time.monotonic() - t < 3.0, "not written within the flush period"
                await asyncio.sleep(0.02)
            return time.monotonic() - t

    assert asyncio.run(run()) < 3.0


def test_nothing_noted_is_lost_when_the_connection_ends_or_the_process_stops(
    base_url: str, charger: dict[str, str], runtime: Runtime, manual: ManualClock,
    batch: PresenceBatch, app: FastAPI,
) -> None:  # fmt: skip
    dev = charger["charger"]

    async def beat_then_leave(after_s: int) -> None:
        async with charge_point(base_url, charger["serial"], charger["token"]) as (cp, _):
            await boot(cp)
            manual.advance(timedelta(seconds=after_s))
            await cp.call(call.Heartbeat(), suppress=False)
            assert batch.pending() == 1

    # the connection ends: the note is written with the charger's offline mark
    asyncio.run(beat_then_leave(45))
    deadline = time.monotonic() + 10
    while device(runtime, dev)[0] != "offline" and time.monotonic() < deadline:
        time.sleep(0.05)
    status, seen, _ = device(runtime, dev)
    assert (status, seen) == ("offline", T0 + timedelta(seconds=45)) and batch.pending() == 0

    # the process stops (the application's shutdown) while a note waits: it is written
    batch.seen(dev, T0 + timedelta(seconds=600))
    with TestClient(app):
        pass  # start-up, then shutdown
    assert device(runtime, dev)[1] == T0 + timedelta(seconds=600) and batch.pending() == 0
    assert device(runtime, dev)[0] == "offline"  # not connected: a late note does not bring it up


def test_offline_detection_still_fires_and_a_heartbeat_brings_a_swept_charger_back(
    base_url: str, charger: dict[str, str], runtime: Runtime, manual: ManualClock,
    batch: PresenceBatch,
) -> None:  # fmt: skip
    dev = charger["charger"]
    threshold = runtime.settings.offline_after_s

    def sweep() -> list[str]:
        with runtime.db.session() as s:
            return [d.id for d in sweep_offline(s, manual.now(), runtime.settings)]

    async def run() -> None:
        async with charge_point(base_url, charger["serial"], charger["token"]) as (cp, _):
            await boot(cp)
            history = device(runtime, dev)[2]
            # beating every half threshold, each flushed as the thread would: never offline
            for _ in range(4):
                manual.advance(timedelta(seconds=threshold / 2))
                await cp.call(call.Heartbeat(), suppress=False)
                await asyncio.to_thread(batch.flush)
                assert await asyncio.to_thread(sweep) == []
            last = manual.now()
            assert device(runtime, dev) == ("online", last, history)
            # silent for the threshold: the sweep marks it offline, as before
            manual.advance(timedelta(seconds=threshold - 1))
            assert await asyncio.to_thread(sweep) == []
            manual.advance(timedelta(seconds=1))
            assert await asyncio.to_thread(sweep) == [dev]
            assert device(runtime, dev) == ("offline", last, history + 1)
            # it beats again (still connected): the flush brings it online, with its history row
            manual.advance(timedelta(seconds=10))
            await cp.call(call.Heartbeat(), suppress=False)
            assert device(runtime, dev)[0] == "offline"
            await asyncio.to_thread(batch.flush)
            assert device(runtime, dev) == ("online", manual.now(), history + 2)

    asyncio.run(run())


def test_the_flush_period_stays_well_below_the_offline_threshold() -> None:
    assert interval_for(5.0, 300) == 5.0
    assert interval_for(5.0, 30) == 3.0  # a tenth of the threshold at most
