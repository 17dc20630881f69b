"""The site summary of the home page: folding roll-up changes in any order gives the figures a
full sum over the roll-ups gives, for the latest day, month and year, and the twelve-month trend."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from voltfleet.domain.telemetry.energy import EXPORT, PV
from voltfleet.domain.telemetry.rollup import Resolution, floor
from voltfleet.domain.telemetry.summary import Summary, add, figures, rebuild, site_power

TZ = ZoneInfo("Australia/Sydney")


def _month(k: int) -> datetime:
    """The k-th month start (local) from January 2024."""
    return datetime(2024 + k // 12, k % 12 + 1, 1, tzinfo=TZ).astimezone(UTC)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([PV, EXPORT, "soc"]),
            st.sampled_from([Resolution.DAY, Resolution.MONTH, Resolution.HOUR]),
            st.integers(0, 40),
            st.floats(-50, 5000, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    ),
    seed=st.integers(0, 1000),
)
def test_any_order_gives_the_sums_of_the_rollups(
    rows: list[tuple[str, Resolution, int, float]], seed: int
) -> None:
    changes = []
    for point, resolution, k, wh in rows:
        start = (
            _month(k)
            if resolution is Resolution.MONTH
            else floor(_month(k // 2) + timedelta(days=k % 9, hours=13), Resolution.DAY, TZ)
        )
        changes.append((point, resolution, start, wh))
    random.Random(seed).shuffle(changes)
    s = Summary()
    for change in changes:
        s = add(s, *change, TZ)
    f, g = (figures(x, s.day, s.month, s.year, TZ) for x in (s, rebuild(changes, TZ)))
    assert f.trend.keys() == g.trend.keys()
    assert all(abs(f.trend[k] - g.trend[k]) < 1e-6 for k in f.trend)
    for point in (PV, EXPORT):
        x, y = f.blocks[point], g.blocks[point]
        assert max(abs(x.day - y.day), abs(x.month - y.month), abs(x.year - y.year)) < 1e-6
        assert abs(x.total - y.total) < 1e-6

    days = [c[2] for c in changes if c[1] is Resolution.DAY and c[0] in (PV, EXPORT)]
    months = [c[2] for c in changes if c[1] is Resolution.MONTH and c[0] in (PV, EXPORT)]
    today = max(days, default=None)
    this_month = max(months, default=None)
    year = (
        datetime(this_month.astimezone(TZ).year, 1, 1, tzinfo=TZ).astimezone(UTC)
        if this_month
        else None
    )
    f = figures(s, s.day, s.month, s.year, TZ)
    for point in (PV, EXPORT):
        mine = [c for c in changes if c[0] == point]
        want_day = sum(c[3] for c in mine if c[1] is Resolution.DAY and c[2] == today)
        month_rows = [c for c in mine if c[1] is Resolution.MONTH]
        want_month = sum(c[3] for c in month_rows if c[2] == this_month)
        want_year = sum(
            c[3]
            for c in month_rows
            if year and c[2] >= year and c[2].astimezone(TZ).year == year.astimezone(TZ).year
        )
        b = f.blocks[point]
        assert abs(b.day - want_day) < 1e-6
        assert abs(b.month - want_month) < 1e-6
        assert abs(b.year - want_year) < 1e-6
        assert abs(b.total - sum(c[3] for c in month_rows)) < 1e-6
    trend: dict[str, float] = defaultdict(float)
    for point, resolution, start, wh in changes:
        if point == PV and resolution is Resolution.MONTH:
            label = start.astimezone(TZ).strftime("%Y-%m")
            if this_month and (this_month - start) < timedelta(days=365 - 20):
                trend[label] += wh
    for label, wh in trend.items():
        assert abs(f.trend.get(label, 0.0) - wh) < 1e-6, label


def test_a_silent_site_shows_nothing_for_today_but_keeps_its_totals() -> None:
    day = floor(datetime(2026, 11, 20, 12, tzinfo=UTC), Resolution.DAY, TZ)
    month = floor(day, Resolution.MONTH, TZ)
    s = add(Summary(), PV, Resolution.DAY, day, 1200.0, TZ)
    s = add(s, PV, Resolution.MONTH, month, 1200.0, TZ)
    tomorrow = floor(day + timedelta(hours=30), Resolution.DAY, TZ)
    next_year = datetime(2027, 1, 1, tzinfo=TZ).astimezone(UTC)
    f = figures(s, tomorrow, month, s.year, TZ)
    assert (f.blocks[PV].day, f.blocks[PV].month, f.blocks[PV].total) == (0.0, 1200.0, 1200.0)
    f = figures(s, tomorrow, next_year, next_year, TZ)
    assert (f.blocks[PV].month, f.blocks[PV].year, f.blocks[PV].total) == (0.0, 0.0, 1200.0)
    assert f.trend == {**{k: 0.0 for k in f.trend if k != "2026-11"}, "2026-11": 1200.0}


def test_site_power_sums_the_devices_that_are_producing_now() -> None:
    t = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert site_power([]) is None
    assert site_power([(t, 1000.0), (t - timedelta(minutes=2), 500.0)]) == (1500.0, t)
    # a device silent for an hour is not producing now
    assert site_power([(t, 1000.0), (t - timedelta(hours=1), 500.0)]) == (1000.0, t)
