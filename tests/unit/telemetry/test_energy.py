"""Energy bars and balances of a site (domain.telemetry.energy), table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voltfleet.domain.telemetry import energy as en
from voltfleet.domain.telemetry.rollup import Rollup

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("args", "consumption", "self_consumption", "self_sufficiency"),
    [
        # pv, import, export, charge, discharge, load
        ((2000, 400, 800, 0, 0, None), 1600, 0.6, 0.75),
        ((0, 1000, 0, 0, 0, None), 1000, None, 0.0),
        ((3000, 0, 0, 1000, 0, None), 2000, 1.0, 1.0),  # charging the battery is self-consumed
        ((0, 0, 0, 0, 500, None), 500, None, 1.0),  # the battery alone supplies the home
        ((1000, 200, 0, 0, 0, 1500), 1500, 1.0, pytest.approx(1 - 200 / 1500)),  # measured load
        ((0, 0, 0, 0, 0, None), 0, None, None),
        ((1000, 0, 1500, 0, 600, None), 100, 0.0, 1.0),  # battery exports: never negative
    ],
)
def test_balance(
    args: tuple[float, float, float, float, float, float | None],
    consumption: float,
    self_consumption: float | None,
    self_sufficiency: float | None,
) -> None:
    b = en.balance(*args)
    assert b.consumption_wh == pytest.approx(consumption)
    assert b.self_consumption == self_consumption
    assert b.self_sufficiency == self_sufficiency
    assert b.consumption_measured is (args[5] is not None)


@pytest.mark.parametrize(
    ("period", "day", "start", "end", "bars"),
    [
        (en.Period.DAY, date(2026, 6, 10), "2026-06-09T22:00", "2026-06-10T22:00", 24),
        (en.Period.DAY, date(2026, 3, 29), "2026-03-28T23:00", "2026-03-29T22:00", 23),  # DST
        (en.Period.DAY, date(2026, 10, 25), "2026-10-24T22:00", "2026-10-25T23:00", 25),
        (en.Period.MONTH, date(2026, 2, 14), "2026-01-31T23:00", "2026-02-28T23:00", 28),
        (en.Period.YEAR, date(2026, 7, 1), "2025-12-31T23:00", "2026-12-31T23:00", 12),
    ],
)
def test_windows_and_bar_counts(
    period: en.Period, day: date, start: str, end: str, bars: int
) -> None:
    a, b = en.window(period, day, BERLIN)
    assert a == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert b == datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert len(en.bar_starts(period, a, b, BERLIN)) == bars


def test_bars_sum_devices_and_label_in_local_time() -> None:
    a, b = en.window(en.Period.DAY, date(2026, 6, 10), BERLIN)
    ten = datetime(2026, 6, 10, 8, tzinfo=UTC)  # 10:00 in Berlin
    series = {
        en.PV: [Rollup(ten, 1500, 4), Rollup(ten, 500, 4)],  # two inverters
        en.EXPORT: [Rollup(ten, 800, 4)],
        en.IMPORT: [Rollup(ten + timedelta(hours=1), 300, 4)],
    }
    bars = en.bars(en.Period.DAY, a, b, BERLIN, series)
    assert len(bars) == 24
    assert bars[10].label == "10:00" and bars[10].start == ten
    assert bars[10].balance.pv_wh == 2000 and bars[10].balance.export_wh == 800
    assert bars[11].balance.import_wh == 300 and bars[11].balance.consumption_wh == 300
    assert bars[0].balance.pv_wh == 0
    total = en.total(bars)
    assert total.pv_wh == 2000 and total.consumption_wh == 1500
    assert total.self_sufficiency == pytest.approx(0.8)


def test_total_period_is_by_local_year() -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    end = en.window(en.Period.YEAR, date(2026, 1, 1), BERLIN)[1]
    months = {
        en.PV: [
            Rollup(datetime(2024, 12, 31, 23, tzinfo=UTC), 100, 1),  # January 2025 in Berlin
            Rollup(datetime(2024, 6, 30, 22, tzinfo=UTC), 50, 1),
            Rollup(datetime(2026, 2, 28, 23, tzinfo=UTC), 7, 1),
        ]
    }
    bars = en.bars(en.Period.TOTAL, start, end, BERLIN, months)
    assert [b.label for b in bars] == ["2024", "2025", "2026"]
    assert [b.balance.pv_wh for b in bars] == [50, 100, 7]


def test_measured_load_wins_over_the_balance() -> None:
    a, b = en.window(en.Period.MONTH, date(2026, 6, 1), UTC)
    day = datetime(2026, 6, 3, tzinfo=UTC)
    series = {en.PV: [Rollup(day, 1000, 1)], en.LOAD: [Rollup(day, 4000, 1)]}
    bars = en.bars(en.Period.MONTH, a, b, UTC, series)
    assert bars[2].balance.consumption_wh == 4000 and bars[2].balance.consumption_measured
