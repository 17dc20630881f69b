"""Costs per local calendar bucket: DST-safe buckets, pro rata splits, additivity."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.builders import BERLIN, NEW_YORK, local, series, utc, whole_year
from voltfleet.domain.accounting import (
    Aggregation,
    CostRates,
    CostReport,
    MeterColumns,
    MeterInterval,
    TariffRate,
    energy_costs,
    local_buckets,
)
from voltfleet.domain.tariffs import (
    Direction,
    FixedTariff,
    MissingPriceError,
    price_series,
)

HOUR = timedelta(hours=1)


def interval(
    start: datetime,
    end: datetime,
    kwh: float,
    direction: Direction = Direction.IMPORT,
    rate: TariffRate = TariffRate.IMPORT,
) -> MeterInterval:
    return MeterInterval("site-1", start, end, kwh * 1000.0, direction, rate)


def constant_power(
    start: datetime, end: datetime, kw: float, step: timedelta = HOUR
) -> list[MeterInterval]:
    out = []
    t, end = start.astimezone(UTC), end.astimezone(UTC)
    while t < end:
        out.append(interval(t, t + step, kw * (step / HOUR)))
        t += step
    return out


def fixed_rates(zone: ZoneInfo, start: datetime, end: datetime, price: float = 0.3) -> CostRates:
    return CostRates("EUR", import_rates=price_series(FixedTariff("EUR", price), zone, start, end))


@pytest.mark.parametrize(
    ("zone", "first_day", "expected_kwh"),
    [
        (BERLIN, "2024-03-30", [24.0, 23.0, 24.0]),
        (BERLIN, "2024-10-26", [24.0, 25.0, 24.0]),
        (NEW_YORK, "2024-03-09", [24.0, 23.0, 24.0]),
        (NEW_YORK, "2024-11-02", [24.0, 25.0, 24.0]),
    ],
)
def test_daily_buckets_on_dst_days(
    zone: ZoneInfo, first_day: str, expected_kwh: list[float]
) -> None:
    start = local(f"{first_day}T00:00", zone)
    end = start + timedelta(days=3)  # wall-clock arithmetic: local midnight three days later
    records = constant_power(start, end, 1.0)
    report = energy_costs(records, fixed_rates(zone, start, end), zone, start, end, Aggregation.DAY)
    assert [b.energy_kwh for b in report.buckets] == pytest.approx(expected_kwh)
    assert [b.cost for b in report.buckets] == pytest.approx([k * 0.3 for k in expected_kwh])
    assert [b.end - b.start for b in report.buckets] == [timedelta(hours=k) for k in expected_kwh]


@pytest.mark.parametrize(
    ("aggregation", "labels", "first_start"),
    [
        (Aggregation.WEEK, ["2024-W13", "2024-W14", "2024-W15"], "2024-03-27T00:00"),
        (Aggregation.MONTH, ["2024-03", "2024-04"], "2024-03-27T00:00"),
        (Aggregation.YEAR, ["2024"], "2024-03-27T00:00"),
    ],
)
def test_calendar_buckets(aggregation: Aggregation, labels: list[str], first_start: str) -> None:
    buckets = local_buckets(
        BERLIN, local("2024-03-27T00:00"), local("2024-04-10T00:00"), aggregation
    )
    assert [b.label for b in buckets] == labels
    assert buckets[0].start == local(first_start)
    assert buckets[-1].end == local("2024-04-10T00:00")
    for before, after in itertools.pairwise(buckets):
        assert before.end == after.start
        assert after.start.astimezone(BERLIN).hour == 0  # local midnight, whatever the offset


def test_week_starts_on_monday_and_month_starts_in_local_time() -> None:
    weeks = local_buckets(
        BERLIN, local("2024-03-27T00:00"), local("2024-04-10T00:00"), Aggregation.WEEK
    )
    assert weeks[1].start == local("2024-04-01T00:00")  # Monday
    assert weeks[1].start == utc("2024-03-31T22:00")  # CEST
    months = local_buckets(
        BERLIN, local("2024-03-27T00:00"), local("2024-04-10T00:00"), Aggregation.MONTH
    )
    assert months[1].start == utc("2024-03-31T22:00")
    assert (months[0].end - months[0].start) == timedelta(days=5) - HOUR  # 23-hour 31 March


def test_interval_spanning_a_price_change_is_split_pro_rata() -> None:
    tariff = whole_year(("00:00", "01:00", 0.1), ("01:00", "00:00", 0.3))
    start, end = local("2024-05-01T00:00"), local("2024-05-02T00:00")
    rates = CostRates("EUR", import_rates=price_series(tariff, BERLIN, start, end))
    records = [interval(local("2024-05-01T00:30"), local("2024-05-01T01:30"), 1.0)]
    report = energy_costs(records, rates, BERLIN, start, end)
    assert report.energy_kwh == pytest.approx(1.0)
    assert report.cost == pytest.approx(0.5 * 0.1 + 0.5 * 0.3)


def test_interval_spanning_buckets_and_window_edges() -> None:
    start, end = local("2024-05-01T00:00"), local("2024-05-03T00:00")
    rates = fixed_rates(BERLIN, start - HOUR * 24, end + HOUR * 24)
    records = [
        interval(local("2024-05-01T23:00"), local("2024-05-02T01:00"), 2.0),  # over midnight
        interval(local("2024-04-30T23:00"), local("2024-05-01T01:00"), 4.0),  # half before
        interval(local("2024-05-03T00:00"), local("2024-05-03T01:00"), 9.0),  # after: ignored
    ]
    report = energy_costs(records, rates, BERLIN, start, end, Aggregation.DAY)
    assert [b.energy_kwh for b in report.buckets] == pytest.approx([1.0 + 2.0, 1.0])
    assert report.cost == pytest.approx(4.0 * 0.3)


def test_local_and_import_records_for_the_same_period_add_up() -> None:
    start, end = local("2024-05-01T00:00"), local("2024-05-02T00:00")
    records = [
        interval(local("2024-05-01T12:00"), local("2024-05-01T13:00"), 2.0),
        interval(local("2024-05-01T12:00"), local("2024-05-01T13:00"), 1.0, rate=TariffRate.LOCAL),
    ]
    free_local = energy_costs(
        records, fixed_rates(BERLIN, start, end), BERLIN, start, end, direction=Direction.IMPORT
    )
    assert free_local.energy_kwh == pytest.approx(3.0)
    assert free_local.cost == pytest.approx(0.6)
    local_line = free_local.line(Direction.IMPORT, TariffRate.LOCAL)
    assert local_line is not None and local_line.energy_kwh == pytest.approx(1.0)
    assert local_line.cost == 0.0
    priced = CostRates(
        "EUR",
        import_rates=price_series(FixedTariff("EUR", 0.3), BERLIN, start, end),
        local_rates=price_series(FixedTariff("EUR", 0.05), BERLIN, start, end),
    )
    with_price = energy_costs(records, priced, BERLIN, start, end, direction=Direction.IMPORT)
    assert with_price.cost == pytest.approx(0.65)
    only_local = energy_costs(records, priced, BERLIN, start, end, tariff_rate=TariffRate.LOCAL)
    assert only_local.energy_kwh == pytest.approx(1.0)
    assert {(x.direction, x.tariff_rate) for x in only_local.lines} == {
        (Direction.IMPORT, TariffRate.LOCAL),
        (Direction.EXPORT, TariffRate.LOCAL),
    }


def test_export_records_valued_at_export_rates() -> None:
    start, end = local("2024-05-01T00:00"), local("2024-05-02T00:00")
    rates = CostRates(
        "EUR",
        import_rates=price_series(FixedTariff("EUR", 0.3), BERLIN, start, end),
        export_rates=price_series(FixedTariff("EUR", 0.08), BERLIN, start, end),
    )
    records = [
        interval(
            local("2024-05-01T12:00"),
            local("2024-05-01T14:00"),
            5.0,
            Direction.EXPORT,
            TariffRate.EXPORT,
        ),
        interval(
            local("2024-05-01T18:00"),
            local("2024-05-01T19:00"),
            1.0,
            Direction.EXPORT,
            TariffRate.IMPORT,
        ),
    ]
    report = energy_costs(
        records,
        rates,
        BERLIN,
        start,
        end,
        direction=Direction.EXPORT,
        tariff_rate=TariffRate.EXPORT,
    )
    assert report.cost == pytest.approx(0.4)
    assert report.energy_kwh == pytest.approx(5.0)
    everything = energy_costs(records, rates, BERLIN, start, end)
    assert everything.cost == pytest.approx(0.4 + 0.3)
    assert len(everything.lines) == 6


def test_missing_rates_are_an_error() -> None:
    start, end = local("2024-05-01T00:00"), local("2024-05-02T00:00")
    records = [
        interval(
            local("2024-05-01T12:00"),
            local("2024-05-01T13:00"),
            1.0,
            Direction.EXPORT,
            TariffRate.EXPORT,
        )
    ]
    with pytest.raises(MissingPriceError, match="no EXPORT rate series"):
        energy_costs(records, fixed_rates(BERLIN, start, end), BERLIN, start, end)
    short = CostRates("EUR", import_rates=series(start, [0.3] * 6))
    with pytest.raises(MissingPriceError, match="does not cover") as caught:
        energy_costs(
            [interval(local("2024-05-01T05:00"), local("2024-05-01T07:00"), 1.0)],
            short,
            BERLIN,
            start,
            end,
        )
    assert caught.value.missing == ((local("2024-05-01T06:00"), local("2024-05-01T07:00")),)
    with pytest.raises(ValueError, match="USD"):
        CostRates("EUR", import_rates=series(start, [0.3], currency="USD"))


def test_columns_and_intervals_give_the_same_report() -> None:
    start, end = local("2024-05-01T00:00"), local("2024-05-03T00:00")
    records = constant_power(start, end, 0.7, timedelta(minutes=15))
    rates = fixed_rates(BERLIN, start, end)
    a = energy_costs(records, rates, BERLIN, start, end)
    b = energy_costs(MeterColumns.from_intervals(records), rates, BERLIN, start, end)
    assert a == b
    assert a.energy_kwh == pytest.approx(0.7 * 48)


def test_no_records_gives_zero_buckets() -> None:
    start, end = local("2024-05-01T00:00"), local("2024-05-03T00:00")
    report = energy_costs([], CostRates("EUR"), BERLIN, start, end)
    assert [b.energy_kwh for b in report.buckets] == [0.0, 0.0]
    assert report.cost == 0.0


# Prices that change every 15 minutes over ten days around the Berlin fall-back day.
# UTC so that adding a timedelta moves in real time (aware local datetimes add wall time)
WINDOW_START = local("2024-10-22T00:00").astimezone(UTC)
WINDOW_END = local("2024-11-01T00:00").astimezone(UTC)
TOU = whole_year(
    ("00:00", "02:15", 0.11),
    ("02:15", "02:45", -0.02),
    ("02:45", "07:00", 0.19),
    ("07:00", "17:30", 0.27),
    ("17:30", "21:00", 0.41),
    ("21:00", "00:00", 0.23),
)
TOTAL_MINUTES = int((WINDOW_END - WINDOW_START) / timedelta(minutes=1))  # 10 days + 1 hour
IMPORT_RATES = price_series(TOU, BERLIN, WINDOW_START, WINDOW_END)
EXPORT_PRICES = [0.05 + 0.01 * (i % 7) for i in range(TOTAL_MINUTES // 15)]
RATES = CostRates(
    "EUR",
    import_rates=IMPORT_RATES,
    export_rates=series(WINDOW_START, EXPORT_PRICES, timedelta(minutes=15)),
    local_rates=price_series(FixedTariff("EUR", 0.02), BERLIN, WINDOW_START, WINDOW_END),
)

record_strategy = st.builds(
    lambda start, minutes, kwh, direction, rate: interval(
        WINDOW_START + timedelta(minutes=start),
        WINDOW_START + timedelta(minutes=min(start + minutes, TOTAL_MINUTES)),
        kwh,
        direction,
        rate,
    ),
    st.integers(0, TOTAL_MINUTES - 1),
    st.integers(1, 3 * 24 * 60),
    st.floats(0, 50),
    st.sampled_from(list(Direction)),
    st.sampled_from(list(TariffRate)),
)


def totals(report: CostReport) -> dict[str, tuple[float, float]]:
    return {b.label: (b.energy_kwh, b.cost) for b in report.buckets}


@settings(max_examples=120, deadline=None)
@given(
    records=st.lists(record_strategy, max_size=25),
    split=st.integers(1, TOTAL_MINUTES - 1),
    aggregation=st.sampled_from(list(Aggregation)),
)
def test_costs_are_additive_over_adjacent_windows(
    records: list[MeterInterval], split: int, aggregation: Aggregation
) -> None:
    middle = WINDOW_START + timedelta(minutes=split)
    whole = energy_costs(records, RATES, BERLIN, WINDOW_START, WINDOW_END, aggregation)
    left = energy_costs(records, RATES, BERLIN, WINDOW_START, middle, aggregation)
    right = energy_costs(records, RATES, BERLIN, middle, WINDOW_END, aggregation)
    assert whole.energy_kwh == pytest.approx(left.energy_kwh + right.energy_kwh, abs=1e-9)
    assert whole.cost == pytest.approx(left.cost + right.cost, abs=1e-9)
    for line in whole.lines:
        a = left.line(line.direction, line.tariff_rate)
        b = right.line(line.direction, line.tariff_rate)
        assert a is not None and b is not None
        assert line.cost == pytest.approx(a.cost + b.cost, abs=1e-9)
    combined: dict[str, list[float]] = {}
    for part in (left, right):
        for label, (kwh, cost) in totals(part).items():
            entry = combined.setdefault(label, [0.0, 0.0])
            entry[0] += kwh
            entry[1] += cost
    assert set(combined) == set(totals(whole))
    for label, (kwh, cost) in totals(whole).items():
        assert kwh == pytest.approx(combined[label][0], abs=1e-9)
        assert cost == pytest.approx(combined[label][1], abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(record_strategy, min_size=1, max_size=10))
def test_cost_matches_a_minute_by_minute_sum(records: list[MeterInterval]) -> None:
    """Oracle: spread each record over its minutes and price each minute on its own."""
    report = energy_costs(records, RATES, BERLIN, WINDOW_START, WINDOW_END, Aggregation.YEAR)
    prices = {
        TariffRate.IMPORT: RATES.import_rates,
        TariffRate.EXPORT: RATES.export_rates,
        TariffRate.LOCAL: RATES.local_rates,
    }
    expected = 0.0
    for r in records:
        minutes = int((r.end - r.start) / timedelta(minutes=1))
        rate = prices[r.tariff_rate]
        assert rate is not None
        for m in range(minutes):
            moment = r.start + timedelta(minutes=m)
            index = int((moment - WINDOW_START) / timedelta(minutes=15))
            expected += r.energy_wh / 1000 / minutes * rate.intervals[index].price_per_kwh
    assert report.cost == pytest.approx(expected, rel=1e-9, abs=1e-9)
