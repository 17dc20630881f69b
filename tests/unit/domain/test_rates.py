"""Price series: fixed, time-of-use (DST days), weekday/weekend with holidays, market, history."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.builders import BERLIN, NEW_YORK, local, slots, utc, whole_year
from voltfleet.domain.tariffs import (
    FixedTariff,
    MarketTariff,
    MissingPriceError,
    MonthDay,
    PriceFormula,
    PriceInterval,
    RateSeries,
    TariffHistory,
    TariffValidationError,
    TariffVersion,
    TouPeriod,
    TouTariff,
    TouWeekPeriod,
    TouWeekTariff,
    price_series,
    version_in_force,
)

QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)

NIGHT = whole_year(
    ("00:00", "01:00", 0.11),
    ("01:00", "02:00", 0.12),
    ("02:00", "03:00", 0.13),
    ("03:00", "00:00", 0.14),
)


def day_window(day: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = date.fromisoformat(day)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def test_fixed_price_at_15_minutes() -> None:
    rates = price_series(
        FixedTariff("EUR", 0.31), BERLIN, utc("2024-05-01T00:00"), utc("2024-05-02T00:00")
    )
    assert len(rates) == 96
    assert set(rates.prices_per_kwh.tolist()) == {0.31}
    assert rates.currency == "EUR"
    assert rates.resolution == QUARTER
    assert rates.intervals[0] == PriceInterval(
        utc("2024-05-01T00:00"), utc("2024-05-01T00:15"), 0.31
    )


DST_DAYS = [
    # zone, local day, hours in the day, quarter-hours per slot price
    (BERLIN, "2024-05-02", 24, {0.11: 4, 0.12: 4, 0.13: 4, 0.14: 84}),
    (BERLIN, "2024-03-31", 23, {0.11: 4, 0.12: 4, 0.14: 84}),  # 02:00-03:00 never happens
    (BERLIN, "2024-10-27", 25, {0.11: 4, 0.12: 4, 0.13: 8, 0.14: 84}),  # 02:00-03:00 twice
    (NEW_YORK, "2024-03-10", 23, {0.11: 4, 0.12: 4, 0.14: 84}),
    (NEW_YORK, "2024-11-03", 25, {0.11: 4, 0.12: 8, 0.13: 4, 0.14: 84}),  # 01:00-02:00 twice
]


@pytest.mark.parametrize(
    ("zone", "day", "hours", "counts"), DST_DAYS, ids=[f"{z.key}-{d}" for z, d, _, _ in DST_DAYS]
)
def test_local_slots_on_dst_days(
    zone: ZoneInfo, day: str, hours: int, counts: dict[float, int]
) -> None:
    start, end = day_window(day, zone)
    rates = price_series(NIGHT, zone, start, end)
    assert (rates.end - rates.start) == timedelta(hours=hours)
    assert len(rates) == hours * 4
    assert dict(Counter(rates.prices_per_kwh.tolist())) == counts


def test_berlin_fall_back_prices_the_repeated_hour_twice() -> None:
    start, end = day_window("2024-10-27", BERLIN)
    native = price_series(NIGHT, BERLIN, start, end, resolution=None)
    assert [(i.start, i.end, i.price_per_kwh) for i in native.intervals] == [
        (utc("2024-10-26T22:00"), utc("2024-10-26T23:00"), 0.11),
        (utc("2024-10-26T23:00"), utc("2024-10-27T00:00"), 0.12),
        (utc("2024-10-27T00:00"), utc("2024-10-27T02:00"), 0.13),  # 02:00 CEST .. 03:00 CET
        (utc("2024-10-27T02:00"), utc("2024-10-27T23:00"), 0.14),
    ]


def test_new_york_spring_forward_skips_the_missing_hour() -> None:
    start, end = day_window("2024-03-10", NEW_YORK)
    native = price_series(NIGHT, NEW_YORK, start, end, resolution=None)
    assert [(i.start, i.price_per_kwh) for i in native.intervals] == [
        (utc("2024-03-10T05:00"), 0.11),
        (utc("2024-03-10T06:00"), 0.12),
        (utc("2024-03-10T07:00"), 0.14),  # 03:00 EDT follows 01:59 EST
    ]
    assert native.end == utc("2024-03-11T04:00")


def test_slot_boundary_inside_the_skipped_hour() -> None:
    tariff = whole_year(("00:00", "02:30", 0.1), ("02:30", "00:00", 0.2))
    start, end = day_window("2024-03-31", BERLIN)
    native = price_series(tariff, BERLIN, start, end, resolution=None)
    # 01:59 CET is followed by 03:00 CEST, which lies in the 02:30-00:00 slot
    assert [(i.start, i.price_per_kwh) for i in native.intervals] == [
        (utc("2024-03-30T23:00"), 0.1),
        (utc("2024-03-31T01:00"), 0.2),
    ]


def test_slot_wrapping_midnight() -> None:
    tariff = whole_year(("22:00", "06:00", 0.1), ("06:00", "22:00", 0.3))
    rates = price_series(
        tariff, BERLIN, local("2024-05-01T20:00"), local("2024-05-02T08:00"), resolution=HOUR
    )
    assert rates.prices_per_kwh.tolist() == [0.3, 0.3] + [0.1] * 8 + [0.3, 0.3]


SEASONS = TouTariff(
    "EUR",
    (
        TouPeriod("summer", MonthDay(4, 1), MonthDay(9, 30), slots(("00:00", "00:00", 0.2))),
        TouPeriod("winter", MonthDay(10, 1), MonthDay(3, 31), slots(("00:00", "00:00", 0.3))),
    ),
)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2024-03-31T22:00", "2024-04-01T02:00", [0.3, 0.3, 0.2, 0.2]),
        ("2024-09-30T22:00", "2024-10-01T02:00", [0.2, 0.2, 0.3, 0.3]),
        ("2024-12-31T22:00", "2025-01-01T02:00", [0.3] * 4),
    ],
)
def test_seasons_switch_at_local_midnight(start: str, end: str, expected: list[float]) -> None:
    rates = price_series(SEASONS, BERLIN, local(start), local(end), resolution=HOUR)
    assert rates.prices_per_kwh.tolist() == expected


def test_period_ending_february_28_covers_leap_day() -> None:
    tariff = TouTariff(
        "EUR",
        (
            TouPeriod("rest", MonthDay(3, 1), MonthDay(11, 30), slots(("00:00", "00:00", 0.2))),
            TouPeriod("winter", MonthDay(12, 1), MonthDay(2, 28), slots(("00:00", "00:00", 0.4))),
        ),
    )
    rates = price_series(
        tariff, BERLIN, local("2024-02-29T12:00"), local("2024-03-01T12:00"), resolution=None
    )
    assert [(i.start, i.price_per_kwh) for i in rates.intervals] == [
        (local("2024-02-29T12:00"), 0.4),
        (local("2024-03-01T00:00"), 0.2),
    ]


WEEK = slots(("00:00", "00:00", 0.30))
WEEKEND = slots(("00:00", "00:00", 0.20))


def week_tariff(country: str | None, subdivision: str | None = None) -> TouWeekTariff:
    period = TouWeekPeriod("all", MonthDay(1, 1), MonthDay(12, 31), WEEK, WEEKEND)
    return TouWeekTariff("EUR", (period,), country, subdivision)


@pytest.mark.parametrize(
    ("zone", "country", "subdivision", "day", "price"),
    [
        (BERLIN, "DE", None, "2024-10-02", 0.30),  # Wednesday
        (BERLIN, "DE", None, "2024-10-03", 0.20),  # Thursday, German Unity Day
        (BERLIN, "DE", None, "2024-10-05", 0.20),  # Saturday
        (BERLIN, "DE", None, "2024-10-06", 0.20),  # Sunday
        (BERLIN, None, None, "2024-10-03", 0.30),  # no holiday calendar
        (BERLIN, "DE", "BY", "2024-05-30", 0.20),  # Corpus Christi in Bavaria
        (BERLIN, "DE", "BE", "2024-05-30", 0.30),  # ... not in Berlin
        (NEW_YORK, "US", None, "2024-07-04", 0.20),  # Independence Day
        (NEW_YORK, "US", None, "2024-07-05", 0.30),
    ],
)
def test_weekends_and_public_holidays(
    zone: ZoneInfo, country: str | None, subdivision: str | None, day: str, price: float
) -> None:
    start, end = day_window(day, zone)
    rates = price_series(week_tariff(country, subdivision), zone, start, end)
    assert set(rates.prices_per_kwh.tolist()) == {price}
    assert len(rates) == 96


def hourly_market(
    start: datetime, prices: list[float], step: timedelta = HOUR
) -> list[PriceInterval]:
    return [
        PriceInterval(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(prices)
    ]


def test_hourly_market_prices_resampled_to_15_minutes() -> None:
    market = hourly_market(utc("2024-05-01T00:00"), [0.10, -0.02, 0.30])
    rates = price_series(
        MarketTariff("EUR"),
        BERLIN,
        utc("2024-05-01T00:00"),
        utc("2024-05-01T03:00"),
        market=list(reversed(market)),
    )
    assert rates.prices_per_kwh.tolist() == [0.10] * 4 + [-0.02] * 4 + [0.30] * 4


def test_quarter_hour_market_prices_averaged_to_hours() -> None:
    market = hourly_market(
        utc("2024-05-01T00:00"), [0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0, 0.8], QUARTER
    )
    rates = price_series(
        MarketTariff("EUR"),
        BERLIN,
        utc("2024-05-01T00:00"),
        utc("2024-05-01T02:00"),
        resolution=HOUR,
        market=market,
    )
    assert rates.prices_per_kwh.tolist() == pytest.approx([0.25, 0.2])


def test_market_formula() -> None:
    formula = PriceFormula(
        multiplier=1.1, markup_per_kwh=0.02, grid_fee_per_kwh=0.08, vat_rate=0.19
    )
    market = hourly_market(utc("2024-05-01T00:00"), [0.10, -0.05])
    rates = price_series(
        MarketTariff("EUR", formula),
        BERLIN,
        utc("2024-05-01T00:00"),
        utc("2024-05-01T02:00"),
        resolution=HOUR,
        market=market,
    )
    assert rates.prices_per_kwh.tolist() == pytest.approx(
        [(0.10 * 1.1 + 0.02 + 0.08) * 1.19, (-0.05 * 1.1 + 0.02 + 0.08) * 1.19]
    )
    assert formula.apply(0.10) == pytest.approx(0.2499)


def test_missing_market_hours_are_named() -> None:
    market = hourly_market(utc("2024-05-01T00:00"), [0.1, 0.2]) + hourly_market(
        utc("2024-05-01T04:00"), [0.3]
    )
    with pytest.raises(MissingPriceError) as caught:
        price_series(
            MarketTariff("EUR"),
            BERLIN,
            utc("2024-05-01T00:00"),
            utc("2024-05-01T06:00"),
            market=market,
        )
    assert caught.value.missing == (
        (utc("2024-05-01T02:00"), utc("2024-05-01T04:00")),
        (utc("2024-05-01T05:00"), utc("2024-05-01T06:00")),
    )
    assert "2024-05-01T02:00Z..2024-05-01T04:00Z (2 h)" in str(caught.value)
    assert "2024-05-01T05:00Z..2024-05-01T06:00Z (1 h)" in str(caught.value)


def test_overlapping_market_prices_are_refused() -> None:
    market = [
        PriceInterval(utc("2024-05-01T00:00"), utc("2024-05-01T01:00"), 0.1),
        PriceInterval(utc("2024-05-01T00:30"), utc("2024-05-01T01:30"), 0.1),
    ]
    with pytest.raises(ValueError, match="overlap"):
        price_series(
            MarketTariff("EUR"),
            BERLIN,
            utc("2024-05-01T00:00"),
            utc("2024-05-01T01:00"),
            market=market,
        )


HISTORY = TariffHistory(
    (
        TariffVersion(
            date(2024, 7, 1), whole_year(("00:00", "06:00", 0.1), ("06:00", "00:00", 0.3))
        ),
        TariffVersion(date(2024, 1, 1), FixedTariff("EUR", 0.25)),
        TariffVersion(date(2024, 9, 1), MarketTariff("EUR")),
    )
)


def test_history_uses_the_version_in_force() -> None:
    rates = price_series(
        HISTORY, BERLIN, local("2024-06-30T22:00"), local("2024-07-01T08:00"), resolution=HOUR
    )
    assert rates.prices_per_kwh.tolist() == [0.25, 0.25] + [0.1] * 6 + [0.3] * 2
    assert version_in_force(HISTORY, date(2024, 8, 31)) == HISTORY.versions[0].tariff
    assert version_in_force(HISTORY, date(2023, 12, 31)) is None


def test_history_needs_market_data_only_where_market_is_in_force() -> None:
    market = hourly_market(local("2024-09-01T00:00"), [0.5, 0.6])
    rates = price_series(
        HISTORY,
        BERLIN,
        local("2024-08-31T23:00"),
        local("2024-09-01T02:00"),
        resolution=HOUR,
        market=market,
    )
    assert rates.prices_per_kwh.tolist() == [0.3, 0.5, 0.6]
    with pytest.raises(MissingPriceError, match="market prices missing"):
        price_series(
            HISTORY, BERLIN, local("2024-08-31T23:00"), local("2024-09-01T03:00"), market=market
        )


def test_no_price_before_the_first_version() -> None:
    with pytest.raises(MissingPriceError, match="before 2024-01-01") as caught:
        price_series(HISTORY, BERLIN, local("2023-12-31T23:00"), local("2024-01-01T01:00"))
    assert caught.value.missing == ((local("2023-12-31T23:00"), local("2024-01-01T00:00")),)


def test_unaligned_window_is_clipped() -> None:
    rates = price_series(
        FixedTariff("EUR", 0.2), BERLIN, utc("2024-05-01T10:07"), utc("2024-05-01T10:50")
    )
    assert [(i.start.minute, i.end.minute) for i in rates.intervals] == [
        (7, 15),
        (15, 30),
        (30, 45),
        (45, 50),
    ]


def test_bad_input() -> None:
    with pytest.raises(TariffValidationError):
        price_series(
            whole_year(("00:00", "06:00", 0.1)),
            BERLIN,
            utc("2024-05-01T00:00"),
            utc("2024-05-02T00:00"),
        )
    with pytest.raises(ValueError, match="after its start"):
        price_series(NIGHT, BERLIN, utc("2024-05-01T00:00"), utc("2024-05-01T00:00"))
    with pytest.raises(ValueError, match="no time zone"):
        price_series(NIGHT, BERLIN, datetime(2024, 5, 1), utc("2024-05-01T01:00"))
    with pytest.raises(ValueError, match="positive"):
        price_series(
            NIGHT, BERLIN, utc("2024-05-01T00:00"), utc("2024-05-01T01:00"), resolution=timedelta(0)
        )


def test_rate_series_window_and_invariants() -> None:
    rates = price_series(NIGHT, BERLIN, local("2024-05-01T00:00"), local("2024-05-02T00:00"))
    part = rates.window(local("2024-05-01T00:20"), local("2024-05-01T01:10"))
    assert next(i.start for i in part.intervals) == local("2024-05-01T00:20")
    assert part.end == local("2024-05-01T01:10")
    assert part.prices_per_kwh.tolist() == [0.11, 0.11, 0.11, 0.12]
    with pytest.raises(MissingPriceError):
        rates.window(local("2024-04-30T23:00"), local("2024-05-01T01:00"))
    with pytest.raises(ValueError, match="contiguous"):
        RateSeries([0, 20], [10, 30], [0.1, 0.2], "EUR")
    with pytest.raises(ValueError, match="finite"):
        RateSeries([0], [10], [float("nan")], "EUR")


def oracle_price(tariff: TouTariff, moment: datetime, zone: ZoneInfo) -> float:
    """Independent lookup: the slot containing the local wall time of an instant."""
    wall = moment.astimezone(zone)
    minute = wall.hour * 60 + wall.minute
    for s in tariff.periods[0].slots:
        a = s.start.hour * 60 + s.start.minute
        b = (s.end.hour * 60 + s.end.minute) or 24 * 60
        if a <= minute < b:
            return s.price_per_kwh
    raise AssertionError("no slot")


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from([BERLIN, NEW_YORK]),
    start_minutes=st.integers(0, 366 * 24 * 60),
    length_minutes=st.integers(1, 4 * 24 * 60),
    resolution_minutes=st.sampled_from([5, 15, 30, 60]),
)
def test_series_is_contiguous_and_follows_local_time(
    zone: ZoneInfo, start_minutes: int, length_minutes: int, resolution_minutes: int
) -> None:
    start = utc("2024-01-01T00:00") + timedelta(minutes=start_minutes)
    end = start + timedelta(minutes=length_minutes)
    resolution = timedelta(minutes=resolution_minutes)
    rates = price_series(NIGHT, zone, start, end, resolution=resolution)
    intervals = rates.intervals
    assert intervals[0].start == start
    assert intervals[-1].end == end
    for before, after in itertools.pairwise(intervals):
        assert before.end == after.start
    for interval in intervals:
        assert timedelta(0) < interval.end - interval.start <= resolution
        assert interval.price_per_kwh == oracle_price(NIGHT, interval.start, zone)
