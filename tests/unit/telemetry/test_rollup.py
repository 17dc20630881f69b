"""Roll-ups: local calendar periods, energy from counters (resets, gaps, edges), averages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voltfleet.domain.telemetry.readings import Sample
from voltfleet.domain.telemetry.rollup import (
    Resolution,
    Rollup,
    average,
    combine,
    energy,
    floor,
    following,
    periods,
)

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("ts", "resolution", "tz", "start", "end"),
    [
        (
            u(2026, 3, 2, 10, 7, 30),
            Resolution.FIVE_MIN,
            UTC,
            u(2026, 3, 2, 10, 5),
            u(2026, 3, 2, 10, 10),
        ),
        (u(2026, 3, 2, 10, 59), Resolution.HOUR, UTC, u(2026, 3, 2, 10), u(2026, 3, 2, 11)),
        # Local hours of a zone half an hour off UTC.
        (
            u(2026, 3, 2, 10, 10),
            Resolution.HOUR,
            KOLKATA,
            u(2026, 3, 2, 9, 30),
            u(2026, 3, 2, 10, 30),
        ),
        # A Berlin day starts at local midnight.
        (u(2026, 3, 2, 22, 30), Resolution.DAY, BERLIN, u(2026, 3, 1, 23), u(2026, 3, 2, 23)),
        # DST days: 23 hours in spring, 25 in autumn.
        (u(2026, 3, 29, 12), Resolution.DAY, BERLIN, u(2026, 3, 28, 23), u(2026, 3, 29, 22)),
        (u(2026, 10, 25, 12), Resolution.DAY, BERLIN, u(2026, 10, 24, 22), u(2026, 10, 25, 23)),
        (
            u(2026, 12, 31, 23, 30),
            Resolution.MONTH,
            BERLIN,
            u(2026, 12, 31, 23),
            u(2027, 1, 31, 23),
        ),
        (u(2026, 2, 10), Resolution.MONTH, UTC, u(2026, 2, 1), u(2026, 3, 1)),
    ],
)
def test_periods_follow_the_local_calendar(
    ts: datetime, resolution: Resolution, tz: ZoneInfo, start: datetime, end: datetime
) -> None:
    got = floor(ts, resolution, tz)
    assert got == start and following(got, resolution, tz) == end


def test_the_autumn_dst_day_has_25_hours() -> None:
    day = floor(u(2026, 10, 25, 12), Resolution.DAY, BERLIN)
    hours = list(periods(day, following(day, Resolution.DAY, BERLIN), Resolution.HOUR, BERLIN))
    assert len(hours) == 25


def counter(*pairs: tuple[float, float]) -> list[Sample]:
    return [Sample(T0 + timedelta(minutes=m), v) for m, v in pairs]


def wh(rows: list[Rollup]) -> dict[float, float]:
    return {(r.start - T0).total_seconds() / 60: round(r.value, 9) for r in rows}


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        # One sample per period boundary: each period gets its rise.
        (counter((0, 100), (5, 110), (10, 130)), {0: 10, 5: 20, 10: 0}),
        # A rise across a boundary is split in proportion to time.
        (counter((2, 100), (7, 110)), {0: 6, 5: 4}),
        # A reset: the new value is the energy since the counter restarted.
        (counter((0, 1000), (5, 1010), (10, 4), (15, 14)), {0: 10, 5: 4, 10: 10, 15: 0}),
        # A gap longer than an hour: booked where the gap ends, nothing invented inside it.
        (counter((0, 100), (181, 400)), {0: 0, 180: 300}),
        # A gap under an hour is spread over it.
        (counter((0, 0), (30, 60)), {0: 10, 5: 10, 10: 10, 15: 10, 20: 10, 25: 10, 30: 0}),
        # A flat counter gives zero energy, but the periods with samples are there.
        (counter((0, 5), (5, 5)), {0: 0, 5: 0}),
    ],
)
def test_energy_from_counters(samples: list[Sample], expected: dict[float, float]) -> None:
    rows = energy(samples, T0, T0 + timedelta(hours=4))
    assert wh(rows) == expected


def test_energy_at_the_edges_takes_the_neighbours_into_account() -> None:
    # Samples before and after the window: only the share inside it is booked.
    samples = counter((-5, 0), (5, 100), (20, 250))
    rows = energy(samples, T0, T0 + timedelta(minutes=10))
    assert wh(rows) == {0: 50, 5: 50}
    assert sum(r.samples for r in rows) == 1


def test_energy_is_conserved_whatever_the_period() -> None:
    samples = [Sample(T0 + timedelta(seconds=17 * i), 3.3 * i) for i in range(2000)]
    total = samples[-1].value - samples[0].value
    for resolution in Resolution:
        rows = energy(samples, T0 - timedelta(days=40), T0 + timedelta(days=40), resolution, BERLIN)
        assert sum(r.value for r in rows) == pytest.approx(total)


def test_averages_and_combining_them() -> None:
    samples = [Sample(T0 + timedelta(minutes=m), v) for m, v in [(0, 100), (1, 300), (6, -50)]]
    rows = average(samples, T0, T0 + timedelta(hours=1))
    assert [(r.value, r.samples, r.low, r.high) for r in rows] == [
        (200, 2, 100, 300),
        (-50, 1, -50, -50),
    ]
    (hour,) = combine(rows, Resolution.HOUR, is_energy=False)
    assert hour.value == pytest.approx(350 / 3) and (hour.low, hour.high) == (-50, 300)
    assert hour.samples == 3


def test_combining_energy_adds_up_into_local_days() -> None:
    hours = [Rollup(u(2026, 3, 2, 22) + timedelta(hours=h), 1.0, 12) for h in range(4)]
    days = combine(hours, Resolution.DAY, BERLIN, is_energy=True)
    # 22:00Z belongs to Berlin's 2 March, 23:00Z on to 3 March.
    assert [(d.start, d.value) for d in days] == [
        (u(2026, 3, 1, 23), 1.0),
        (u(2026, 3, 2, 23), 3.0),
    ]
