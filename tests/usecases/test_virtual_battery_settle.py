"""The settle use case (usecases/virtual_battery.py) against fakes of its ports: the ledger is
continued from its mark only, a reset date applies, a lowered capacity caps the carried level."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from voltfleet.domain.telemetry.rollup import Resolution, Rollup
from voltfleet.domain.virtual_battery.ledger import FloatArray, Ledger
from voltfleet.store.timeseries.memory import MemoryTimeSeriesStore
from voltfleet.usecases.virtual_battery import (
    EXPORT_POINT,
    IMPORT_POINT,
    BatteryConfig,
    settle,
    us_of,
)

BERLIN = ZoneInfo("Europe/Berlin")
START = date(2026, 6, 1)
T0 = datetime(2026, 5, 31, 22, tzinfo=UTC)  # local midnight of START


class FakeRepo:
    def __init__(self, cfg: BatteryConfig) -> None:
        self.cfg = cfg
        self.store = MemoryTimeSeriesStore()
        self.rows: dict[int, float] = {}  # start_us -> level
        self.writes: list[int] = []  # the first start of each replace

    def config(self, battery_id: str) -> BatteryConfig | None:
        return self.cfg

    def dirty(self, limit: int) -> list[str]:
        return [self.cfg.id] if self.cfg.dirty_from else []

    def series(self) -> MemoryTimeSeriesStore:
        return self.store

    def level_before(self, battery_id: str, start_us: int) -> float:
        before = [k for k in self.rows if k < start_us]
        return self.rows[max(before)] if before else 0.0

    def replace_from(self, battery_id: str, start_us: int, starts_us: Sequence[int],
                     imp: FloatArray, exp: FloatArray, ledger: Ledger) -> None:  # fmt: skip
        self.rows = {k: v for k, v in self.rows.items() if k < start_us}
        self.rows.update(zip(starts_us, ledger.level_wh.tolist(), strict=True))
        self.writes.append(starts_us[0])

    def settled(self, battery_id: str, seen: datetime | None, level_wh: float,
                level_at: datetime | None) -> None:  # fmt: skip
        if self.cfg.dirty_from == seen:
            self.cfg = replace(self.cfg, dirty_from=None)

    def mark(self, at: datetime) -> None:
        self.cfg = replace(self.cfg, dirty_from=at)

    def energy(self, point: str, start: datetime, hours: float, wh_per_5min: float) -> None:
        rows = [Rollup(start + k * timedelta(minutes=5), wh_per_5min, 1)
                for k in range(int(hours * 12))]  # fmt: skip
        self.store.replace_rollups("m", point, Resolution.FIVE_MIN, rows[0].start,
                                   rows[-1].start + timedelta(minutes=5), rows)  # fmt: skip


def config(**kw: object) -> BatteryConfig:
    base = BatteryConfig("b", "m", 0.0, START, None, False, BERLIN, T0)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_settle_continues_from_the_mark_and_leaves_earlier_intervals() -> None:
    repo = FakeRepo(config())
    repo.energy(EXPORT_POINT, T0 + timedelta(hours=10), 2, 100.0)  # 2.4 kWh at noon
    now = T0 + timedelta(hours=16)
    done = settle(repo, "b", now)
    assert done is not None and done.level_wh == 2400.0 and repo.cfg.dirty_from is None
    kept = dict(repo.rows)
    repo.energy(IMPORT_POINT, T0 + timedelta(hours=18), 1, 100.0)  # 1.2 kWh in the evening
    repo.mark(T0 + timedelta(hours=17))
    done = settle(repo, "b", T0 + timedelta(hours=20))
    assert done is not None and done.level_wh == 1200.0
    assert repo.writes[-1] == us_of(T0 + timedelta(hours=17))  # only from the mark on
    assert all(repo.rows[k] == v for k, v in kept.items() if k < us_of(T0 + timedelta(hours=17)))
    assert settle(repo, "b", T0 + timedelta(hours=20)) is None  # nothing marked: nothing done


def test_a_reset_date_empties_it_and_a_lowered_capacity_caps_the_carried_level() -> None:
    repo = FakeRepo(config(reset_on=date(2026, 6, 2), reset_yearly=True))
    repo.energy(EXPORT_POINT, T0 + timedelta(hours=10), 2, 100.0)
    settle(repo, "b", T0 + timedelta(hours=23))
    assert repo.rows[us_of(T0 + timedelta(hours=23))] == 2400.0  # the interval now running
    settle(repo, "b", T0)  # nothing marked
    repo.mark(T0 + timedelta(days=1))
    done = settle(repo, "b", T0 + timedelta(days=1, hours=1))
    assert done is not None and done.level_wh == 0.0  # local midnight of 2 June: reset
    # a lowered capacity: the level carried into the recomputed stretch is capped
    repo2 = FakeRepo(config())
    repo2.energy(EXPORT_POINT, T0 + timedelta(hours=10), 2, 100.0)
    settle(repo2, "b", T0 + timedelta(hours=13))
    repo2.cfg = replace(repo2.cfg, capacity_wh=1000.0, dirty_from=T0 + timedelta(hours=13))
    done = settle(repo2, "b", T0 + timedelta(hours=14))
    assert done is not None and done.level_wh == 1000.0
