"""Roll-ups kept up to date as readings arrive in any order (on the in-memory fake store)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voltfleet.domain.telemetry.points import CATALOGUE
from voltfleet.domain.telemetry.readings import Reading
from voltfleet.domain.telemetry.rollup import LADDER, Resolution
from voltfleet.store.timeseries.memory import MemoryTimeSeriesStore
from voltfleet.usecases.rollups import refresh

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
WIDE = (T0 - timedelta(days=40), T0 + timedelta(days=40))


def rebuild(readings: list[Reading]) -> MemoryTimeSeriesStore:
    store = MemoryTimeSeriesStore()
    store.write(readings)
    lo, hi = min(r.ts for r in readings), max(r.ts for r in readings)
    refresh(store, "m", CATALOGUE[readings[0].point], lo, hi, BERLIN)
    return store


@pytest.mark.parametrize("point", ["grid_import_energy_wh", "grid_power_w"])
def test_batches_in_any_order_give_the_rollups_of_all_at_once(point: str) -> None:
    rng = random.Random(7)
    readings = [
        Reading("m", point, T0 + timedelta(seconds=37 * i), float(i * 2 + rng.random()))
        for i in range(3000)
    ]
    expected = rebuild(readings)
    shuffled = readings[:]
    rng.shuffle(shuffled)
    store = MemoryTimeSeriesStore()
    for k in range(0, len(shuffled), 250):
        batch = shuffled[k : k + 250]
        if store.write(batch):
            refresh(
                store,
                "m",
                CATALOGUE[point],
                min(r.ts for r in batch),
                max(r.ts for r in batch),
                BERLIN,
            )
    for resolution in LADDER:
        got = store.read_rollups("m", point, resolution, *WIDE)
        want = expected.read_rollups("m", point, resolution, *WIDE)
        assert [r.start for r in got] == [r.start for r in want]
        assert [r.value for r in got] == pytest.approx([r.value for r in want])
        assert [r.samples for r in got] == [r.samples for r in want]


def test_month_energy_equals_the_counter_rise() -> None:
    readings = [
        Reading("m", "pv_energy_wh", T0 + timedelta(minutes=5 * i), 10.0 * i) for i in range(2000)
    ]
    store = rebuild(readings)
    months = store.read_rollups("m", "pv_energy_wh", Resolution.MONTH, *WIDE)
    assert sum(m.value for m in months) == pytest.approx(10.0 * 1999)
    assert months[0].start == datetime(2026, 2, 28, 23, tzinfo=UTC)  # Berlin's March
