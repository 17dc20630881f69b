"""Settling virtual batteries: the ledger (domain.virtual_battery) over the house meter's
energy, kept per 15-minute interval and recomputed from where it stopped being right.

A battery's ``dirty_from`` says where that is: ingest marks it when the meter's import or
export counter gets readings (new or late: from the interval of the earliest one, less the
hour over which a counter's rise may be spread), recording or removing a counter restart marks
it from the restart, and a changed configuration from the start date. ``settle`` reads the
meter's 5-minute energy roll-ups from there (the counter restarts are already applied in them:
domain.telemetry.restarts), sums them into quarter hours, continues the ledger from the stored
level just before, and replaces the stored intervals from there on. Nothing else is recomputed.

Persistence comes through ``VirtualBatteryRepository`` (store/virtual_battery_repository.py).
Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol

from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.domain.virtual_battery import calendar
from voltfleet.domain.virtual_battery.ledger import FloatArray, Ledger, binned, run_fast
from voltfleet.ports import TimeSeriesStore

IMPORT_POINT = "grid_import_energy_wh"
EXPORT_POINT = "grid_export_energy_wh"
METER_POINTS = (IMPORT_POINT, EXPORT_POINT)
# A counter's rise is spread over the time since its previous sample (up to the roll-ups' gap
# of one hour), so a late reading changes the quarter hours up to an hour before it.
SPREAD = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BatteryConfig:
    id: str
    meter_id: str
    capacity_wh: float
    start_date: date
    reset_on: date | None
    reset_yearly: bool
    zone: tzinfo
    dirty_from: datetime | None

    @property
    def start(self) -> datetime:
        """Where the ledger begins: local midnight of the start date."""
        return calendar.local_midnight(self.start_date, self.zone)


@dataclass(frozen=True)
class Settled:
    battery_id: str
    start: datetime  # the first interval recomputed
    intervals: int
    level_wh: float


class VirtualBatteryRepository(Protocol):
    """The settle job's persistence, inside the caller's transaction."""

    def config(self, battery_id: str) -> BatteryConfig | None: ...

    def dirty(self, limit: int) -> list[str]:
        """Batteries whose ledger must be recomputed from some interval (oldest mark first)."""
        ...

    def series(self) -> TimeSeriesStore: ...

    def level_before(self, battery_id: str, start_us: int) -> float:
        """The stored level at the end of the interval before ``start_us`` (0 when none)."""
        ...

    def replace_from(
        self,
        battery_id: str,
        start_us: int,
        starts_us: Sequence[int],
        imp: FloatArray,
        exp: FloatArray,
        ledger: Ledger,
    ) -> None:
        """Drop the stored intervals from ``start_us`` on and store these."""
        ...

    def settled(
        self, battery_id: str, seen: datetime | None, level_wh: float, level_at: datetime | None
    ) -> None:
        """Record the newest level; clear ``dirty_from`` unless it changed since ``seen``."""
        ...


def us_of(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1)


def meter_intervals(
    store: TimeSeriesStore, meter_id: str, start: datetime, end: datetime
) -> tuple[FloatArray, FloatArray]:
    """The meter's import and export per quarter hour in [start, end) (``start`` on the grid),
    from its 5-minute energy roll-ups (0 where there are none)."""
    n = max(0, int((end - start).total_seconds()) // calendar.INTERVAL_S)
    out = []
    for point in METER_POINTS:
        rows = store.read_rollups(meter_id, point, Resolution.FIVE_MIN, start, end)
        pairs = [(r.start.timestamp(), r.value) for r in rows]
        out.append(binned(n, calendar.INTERVAL_S, start.timestamp(), pairs))
    return out[0], out[1]


def settle(repo: VirtualBatteryRepository, battery_id: str, now: datetime) -> Settled | None:
    """Recompute the battery's ledger from its ``dirty_from`` up to ``now`` (the interval now
    running included, so the live level follows the meter). None when there is nothing to do."""
    cfg = repo.config(battery_id)
    if cfg is None or cfg.dirty_from is None:
        return None
    begin = max(cfg.start, calendar.floor_to_grid(cfg.dirty_from))
    end = calendar.floor_to_grid(now) + calendar.INTERVAL
    if end <= begin:
        repo.settled(battery_id, cfg.dirty_from, repo.level_before(battery_id, us_of(end)), None)
        return Settled(battery_id, begin, 0, 0.0)
    imp, exp = meter_intervals(repo.series(), cfg.meter_id, begin, end)
    n = len(imp)
    reset = calendar.reset_flags(begin, n, cfg.reset_on, cfg.reset_yearly, cfg.zone)
    start_us = us_of(begin)
    level0 = 0.0 if begin == cfg.start else repo.level_before(battery_id, start_us)
    if cfg.capacity_wh:
        level0 = min(level0, cfg.capacity_wh)  # the capacity was lowered since
    ledger = run_fast(imp, exp, cfg.capacity_wh, reset, level0)
    step = calendar.INTERVAL_S * 1_000_000
    starts = [start_us + k * step for k in range(n)]
    # from the start: drop every stored interval (a start date moved later leaves none before it)
    repo.replace_from(battery_id, 0 if begin == cfg.start else start_us, starts, imp, exp, ledger)
    repo.settled(battery_id, cfg.dirty_from, ledger.final_level_wh, end)
    return Settled(battery_id, begin, n, ledger.final_level_wh)


def settle_dirty(repo: VirtualBatteryRepository, now: datetime, limit: int = 500) -> list[Settled]:
    """Settle every battery marked dirty (at most ``limit`` per call)."""
    out = []
    for battery_id in repo.dirty(limit):
        done = settle(repo, battery_id, now)
        if done is not None:
            out.append(done)
    return out


def dirty_mark(first_reading: datetime) -> datetime:
    """Where a reading at ``first_reading`` of the meter's counters makes the ledger wrong."""
    return calendar.floor_to_grid(first_reading - SPREAD)
