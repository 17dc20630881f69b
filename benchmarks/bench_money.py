"""Money benchmarks (issue 5): costs by month for a year, threshold slots, schedules.

Prints, in one run, the median time of the domain functions and of naive baselines:
  (a) cost of a year of 15-minute meter intervals for one site, by month   (target < 10 ms)
  (b) threshold slots over 7 days of 15-minute prices                      (target <  2 ms)
  (c) an energy-by-deadline schedule over 7 days of 15-minute prices       (target <  2 ms)
Baselines: a straightforward pure-Python loop using bisect, and a naive loop that rescans the
rate list for every interval (measured on a slice and scaled linearly; it is too slow to run
on the whole year). Every baseline's result is checked against the fast path.

Run: .venv/bin/python benchmarks/bench_money.py
"""

from __future__ import annotations

import random
import statistics
import time
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from voltfleet.domain.accounting import (
    Aggregation,
    CostRates,
    MeterColumns,
    MeterInterval,
    TariffRate,
    energy_costs,
)
from voltfleet.domain.accounting.buckets import bucket_edges_us
from voltfleet.domain.schedule import plan_schedule
from voltfleet.domain.slots import Segment, threshold_slots
from voltfleet.domain.tariffs import (
    Direction,
    FixedTariff,
    MarketTariff,
    MonthDay,
    PriceFormula,
    PriceInterval,
    RateSeries,
    TimeSlot,
    TouPeriod,
    TouTariff,
    price_series,
    to_us,
)

ZONE = ZoneInfo("Europe/Berlin")
QUARTER = timedelta(minutes=15)


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def row(label: str, ms: float, note: str = "") -> None:
    print(f"  {label:<68} {ms:10.3f} ms  {note}")


# ---------------------------------------------------------------- (a) a year of costs by month


def year_setup() -> tuple[list[MeterInterval], CostRates, datetime, datetime]:
    start = datetime.combine(date(2024, 1, 1), clock(0), tzinfo=ZONE)
    end = datetime.combine(date(2025, 1, 1), clock(0), tzinfo=ZONE)
    tou = TouTariff(
        "EUR",
        (
            TouPeriod(
                "summer",
                MonthDay(4, 1),
                MonthDay(9, 30),
                (
                    TimeSlot(clock(0), clock(6), 0.21),
                    TimeSlot(clock(6), clock(17), 0.29),
                    TimeSlot(clock(17), clock(21), 0.38),
                    TimeSlot(clock(21), clock(0), 0.26),
                ),
            ),
            TouPeriod(
                "winter",
                MonthDay(10, 1),
                MonthDay(3, 31),
                (
                    TimeSlot(clock(0), clock(7), 0.24),
                    TimeSlot(clock(7), clock(16), 0.31),
                    TimeSlot(clock(16), clock(20), 0.42),
                    TimeSlot(clock(20), clock(0), 0.28),
                ),
            ),
        ),
    )
    rng = random.Random(5)
    first, last = start.astimezone(UTC), end.astimezone(UTC)
    hours = int((last - first) / timedelta(hours=1))
    market = [
        PriceInterval(
            first + h * timedelta(hours=1),
            first + (h + 1) * timedelta(hours=1),
            rng.uniform(-0.02, 0.25),
        )
        for h in range(hours)
    ]
    rates = CostRates(
        "EUR",
        import_rates=price_series(tou, ZONE, start, end),
        export_rates=price_series(
            MarketTariff("EUR", PriceFormula(multiplier=0.9)), ZONE, start, end, market=market
        ),
        local_rates=price_series(FixedTariff("EUR", 0.02), ZONE, start, end),
    )
    records = []
    t = first
    kinds = [(Direction.IMPORT, TariffRate.IMPORT)] * 3 + [
        (Direction.IMPORT, TariffRate.LOCAL),
        (Direction.EXPORT, TariffRate.EXPORT),
    ]
    while t < last:
        direction, rate = rng.choice(kinds)
        records.append(
            MeterInterval("site-1", t, t + QUARTER, rng.uniform(0, 900), direction, rate)
        )
        t += QUARTER
    return records, rates, start, end


def _series_lists(series: RateSeries) -> tuple[list[int], list[int], list[float]]:
    return series.starts_us.tolist(), series.ends_us.tolist(), series.prices_per_kwh.tolist()


def baseline_bisect(
    records: list[MeterInterval], rates: CostRates, start: datetime, end: datetime
) -> float:
    """Pure Python: per record, bisect into the rates and the month edges."""
    edges, _ = bucket_edges_us(ZONE, to_us(start), to_us(end), Aggregation.MONTH)
    tables = {
        rate: _series_lists(series) for rate in TariffRate if (series := rates.for_rate(rate))
    }
    costs = [0.0] * (len(edges) - 1)
    for r in records:
        starts, ends, prices = tables[r.tariff_rate]
        s, e = to_us(r.start), to_us(r.end)
        i = bisect_right(starts, s) - 1
        kwh_per_us = r.energy_wh / 1000.0 / (e - s)
        t = s
        while t < e:
            piece_end = min(e, ends[i])
            bucket = bisect_right(edges, t) - 1
            costs[bucket] += kwh_per_us * (piece_end - t) * prices[i]
            t = piece_end
            i += 1
    return sum(costs)


def baseline_rescan(
    records: list[MeterInterval], rates: CostRates, start: datetime, end: datetime
) -> float:
    """Naive: for every record, scan the whole rate list for overlapping intervals."""
    tables = {rate: series.intervals for rate in TariffRate if (series := rates.for_rate(rate))}
    edges = [b for b in _month_edges(start, end)]
    costs = [0.0] * (len(edges) - 1)
    for r in records:
        for interval in tables[r.tariff_rate]:
            a, b = max(r.start, interval.start), min(r.end, interval.end)
            if a < b:
                share = (b - a) / (r.end - r.start)
                for k in range(len(edges) - 1):
                    if edges[k] <= a < edges[k + 1]:
                        costs[k] += r.energy_wh / 1000.0 * share * interval.price_per_kwh
    return sum(costs)


def _month_edges(start: datetime, end: datetime) -> list[datetime]:
    edges, _ = bucket_edges_us(ZONE, to_us(start), to_us(end), Aggregation.MONTH)
    return [datetime.fromtimestamp(e / 1e6, UTC) for e in edges]


def bench_year() -> None:
    print("(a) cost of a year of 15-minute intervals for one site, by month (target < 10 ms)")
    started = time.perf_counter()
    records, rates, start, end = year_setup()
    print(
        f"    setup: {len(records)} records, 3 rate series of {len(rates.import_rates or ())} "
        f"intervals ({time.perf_counter() - started:.2f} s)"
    )
    columns = MeterColumns.from_intervals(records)
    fast = energy_costs(columns, rates, ZONE, start, end, Aggregation.MONTH)
    assert len(fast.buckets) == 12
    row(
        "energy_costs(MeterColumns, MONTH)  [domain, numpy]",
        median_ms(lambda: energy_costs(columns, rates, ZONE, start, end, Aggregation.MONTH), 50),
    )
    row(
        "MeterColumns.from_intervals(35k MeterInterval)  [input prep]",
        median_ms(lambda: MeterColumns.from_intervals(records), 5),
    )
    row(
        "energy_costs(list[MeterInterval], MONTH)  [prep included]",
        median_ms(lambda: energy_costs(records, rates, ZONE, start, end, Aggregation.MONTH), 5),
    )
    bisect_total = baseline_bisect(records, rates, start, end)
    assert abs(bisect_total - fast.cost) < 1e-6 * max(1.0, abs(fast.cost)), (
        bisect_total,
        fast.cost,
    )
    row(
        "baseline: pure-Python loop with bisect",
        median_ms(lambda: baseline_bisect(records, rates, start, end), 3),
    )
    sample = records[:192]  # two days
    sample_end = sample[-1].end
    partial = energy_costs(sample, rates, ZONE, start, sample_end, Aggregation.MONTH).cost
    assert abs(baseline_rescan(sample, rates, start, end) - partial) < 1e-9
    scale = len(records) / len(sample)
    rescan_ms = median_ms(lambda: baseline_rescan(sample, rates, start, end), 1) * scale
    row(
        "baseline: naive rescan of the rate list per interval",
        rescan_ms,
        f"(measured on {len(sample)} records, x{scale:.0f})",
    )
    print(f"    total cost {fast.cost:.2f} {fast.currency}, energy {fast.energy_kwh:.1f} kWh")


# ------------------------------------------------------------- (b), (c) seven days of prices


def week_rates() -> RateSeries:
    rng = random.Random(7)
    start = datetime(2024, 5, 6, 0, 0, tzinfo=ZONE)
    first = start.astimezone(UTC)
    market = []
    for q in range(7 * 96):
        hour = (q // 4) % 24
        shape = 0.08 + 0.12 * (7 <= hour < 10) + 0.18 * (17 <= hour < 21) - 0.05 * (11 <= hour < 15)
        market.append(
            PriceInterval(
                first + q * QUARTER,
                first + (q + 1) * QUARTER,
                round(shape + rng.uniform(-0.03, 0.03), 4),
            )
        )
    return price_series(MarketTariff("EUR"), ZONE, first, first + 7 * 96 * QUARTER, market=market)


def fresh(rates: RateSeries) -> RateSeries:
    """A new series over the same arrays: no cached ``PriceInterval`` objects (as per request)."""
    return RateSeries(
        rates.starts_us, rates.ends_us, rates.prices_per_kwh, rates.currency, rates.resolution
    )


def baseline_threshold(
    intervals: tuple[PriceInterval, ...], relative: float
) -> tuple[list[PriceInterval], list[tuple[datetime, datetime]]]:
    """Straightforward Python: scan for min/max, select, merge adjacent."""
    low = min(i.price_per_kwh for i in intervals)
    high = max(i.price_per_kwh for i in intervals)
    bound = high - relative * (high - low)
    selected = [i for i in intervals if i.price_per_kwh >= bound]
    ranges: list[tuple[datetime, datetime]] = []
    for i in selected:
        if ranges and ranges[-1][1] == i.start:
            ranges[-1] = (ranges[-1][0], i.end)
        else:
            ranges.append((i.start, i.end))
    return selected, ranges


def baseline_schedule(
    intervals: tuple[PriceInterval, ...], energy_kwh: float, max_power_kw: float
) -> tuple[list[tuple[datetime, datetime, float]], float]:
    """Naive greedy: repeatedly rescan for the cheapest unused interval."""
    used: set[int] = set()
    remaining, cost = energy_kwh, 0.0
    plan = []
    while remaining > 1e-12:
        best = None
        for index, i in enumerate(intervals):
            if index not in used and (
                best is None or i.price_per_kwh < intervals[best].price_per_kwh
            ):
                best = index
        assert best is not None
        used.add(best)
        chosen = intervals[best]
        hours = (chosen.end - chosen.start) / timedelta(hours=1)
        take = min(remaining, max_power_kw * hours)
        plan.append((chosen.start, chosen.end, take / hours))
        cost += take * chosen.price_per_kwh
        remaining -= take
    plan.sort()
    return plan, cost


def bench_week() -> None:
    rates = week_rates()
    prebuilt = rates.intervals
    print()
    print(
        f"(b) threshold slots over 7 days of 15-minute prices ({len(rates)} intervals, "
        "target < 2 ms)"
    )
    print("    each run starts from a new RateSeries and returns PriceInterval slots + ranges")
    fast = threshold_slots(rates, Segment.HIGH, relative=0.5)
    selected, ranges = baseline_threshold(prebuilt, 0.5)
    assert [(r.start, r.end) for r in fast.ranges] == ranges
    assert list(fast.slots) == selected
    row(
        "threshold_slots(HIGH, relative=0.5)  [domain]",
        median_ms(lambda: threshold_slots(fresh(rates), Segment.HIGH, relative=0.5), 500),
        f"({len(fast.slots)} slots, {len(fast.ranges)} ranges)",
    )
    low = threshold_slots(rates, Segment.LOW, absolute=0.1)
    row(
        "threshold_slots(LOW, absolute=0.1)  [domain]",
        median_ms(lambda: threshold_slots(fresh(rates), Segment.LOW, absolute=0.1), 500),
        f"({len(low.slots)} slots)",
    )
    row(
        "baseline: Python loop (PriceInterval objects built, then scanned)",
        median_ms(lambda: baseline_threshold(fresh(rates).intervals, 0.5), 200),
    )
    row(
        "baseline: Python loop over an already built PriceInterval list",
        median_ms(lambda: baseline_threshold(prebuilt, 0.5), 200),
    )

    print()
    print("(c) schedule over 7 days of 15-minute prices: 30 kWh at up to 3 kW (target < 2 ms)")
    plan = plan_schedule(rates, Direction.IMPORT, 30.0, 3.0)
    assert plan.cost is not None
    naive_plan, naive_cost = baseline_schedule(prebuilt, 30.0, 3.0)
    assert abs(naive_cost - plan.cost) < 1e-9
    assert [(s.start, s.end) for s in plan.slots] == [(a, b) for a, b, _ in naive_plan]
    row(
        "plan_schedule(IMPORT, best slots)  [domain]",
        median_ms(lambda: plan_schedule(fresh(rates), Direction.IMPORT, 30.0, 3.0), 500),
        f"({len(plan.slots)} slots, {plan.cost:.2f} EUR)",
    )
    row(
        "plan_schedule(EXPORT, continuous=True)  [domain]",
        median_ms(
            lambda: plan_schedule(fresh(rates), Direction.EXPORT, 30.0, 3.0, continuous=True), 500
        ),
    )
    big = plan_schedule(rates, Direction.IMPORT, 300.0, 11.0)
    row(
        "plan_schedule(IMPORT, 300 kWh at 11 kW)  [domain]",
        median_ms(lambda: plan_schedule(fresh(rates), Direction.IMPORT, 300.0, 11.0), 300),
        f"({len(big.slots)} slots)",
    )
    row(
        "baseline: naive greedy rescanning for the cheapest slot",
        median_ms(lambda: baseline_schedule(fresh(rates).intervals, 30.0, 3.0), 20),
    )


def main() -> None:
    started = time.perf_counter()
    print("voltfleet money benchmarks (median of repeated runs, time.perf_counter)")
    bench_year()
    bench_week()
    print(f"\ntotal run time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
