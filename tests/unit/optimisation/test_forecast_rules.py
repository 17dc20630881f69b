"""The pure parts of the forecasts: load from the site's history by day type and quarter hour
(holidays as Sundays), the PV correction, and the error per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voltfleet.domain.optimisation.forecast import (
    daily_errors,
    day_type,
    load_from_history,
    pv_correction,
)

BERLIN = ZoneInfo("Europe/Berlin")
Q = timedelta(minutes=15)


def test_holidays_count_as_sundays() -> None:
    assert day_type(date(2026, 12, 25), {date(2026, 12, 25)}) == 6  # a Friday
    assert day_type(date(2026, 12, 24), {date(2026, 12, 25)}) == 3


def history(days: int) -> list[tuple[datetime, float]]:
    """Weekdays 300 W, except 1000 W from 18:00 local; Sundays 600 W all day."""
    start = datetime(2026, 11, 2, tzinfo=BERLIN)  # a Monday
    out = []
    for i in range(days * 96):
        local = start + i * Q
        w = 600.0 if local.weekday() == 6 else (1000.0 if local.hour >= 18 else 300.0)
        out.append((local.astimezone(UTC), w))
    return out


def test_load_from_the_same_day_type_and_quarter_hour() -> None:
    wed = datetime(2026, 11, 25, 18, 30, tzinfo=BERLIN)
    sun = datetime(2026, 11, 29, 18, 30, tzinfo=BERLIN)
    holiday = datetime(2026, 12, 25, 9, 0, tzinfo=BERLIN)
    got = load_from_history(history(21), [wed, sun, holiday], BERLIN, {date(2026, 12, 25)})
    assert got == [1000.0, 600.0, 600.0]
    # too little history: None, the caller takes the standard profile
    assert load_from_history(history(3), [wed], BERLIN) is None


def test_pv_correction_is_measured_over_modelled_and_bounded() -> None:
    assert pv_correction([800.0] * 20, [1000.0] * 20) == pytest.approx(0.8)
    assert pv_correction([0.0] * 20, [1000.0] * 20) == 0.2
    assert pv_correction([5.0], [10.0]) == 1.0  # too little modelled energy to judge


def test_errors_per_local_day() -> None:
    t0 = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # 23:00 in Berlin
    times = [t0 + i * Q for i in range(8)]  # 4 steps on 30 Nov, 4 on 1 Dec (local)
    got = daily_errors(times, [100.0] * 8, [100, 100, 100, 100, 0, 200, 100, 100], BERLIN)
    assert [d.day for d in got] == [date(2026, 11, 30), date(2026, 12, 1)]
    assert got[0].mae_w == 0 and got[0].rmse_w == 0
    assert got[1].mae_w == 50 and got[1].rmse_w == pytest.approx((2 * 100**2 / 4) ** 0.5)
    assert got[1].bias_w == 0


def test_replan_reasons() -> None:
    from voltfleet.domain.optimisation.replan import replan_reason

    t0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    kw = {"planned_soc": 0.5, "measured_soc": 0.55}
    assert replan_reason(t0, t0 + timedelta(minutes=5), **kw) is None
    assert replan_reason(t0, t0 + timedelta(minutes=15), **kw) == "cycle"
    drifted = {"planned_soc": 0.5, "measured_soc": 0.7}
    assert replan_reason(t0, t0 + Q / 3, **drifted) == "drift: state of charge"
    prices = {"planned_prices": [0.30, 0.31], "current_prices": [0.30, 0.35]}
    assert replan_reason(t0, t0 + Q / 3, planned_soc=None, measured_soc=None, **prices) == (
        "drift: prices"
    )
