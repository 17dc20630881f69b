"""Energy and its money value per local calendar bucket of a site.

Each record's energy is spread evenly over its interval; the part inside the window and inside
each bucket counts there, and its value is the energy times the time-weighted price of its
``tariff_rate`` series over that part (so an interval that spans a price change is split pro
rata by time). ``cost`` is the money value of the energy at its price: what it cost for
import-valued energy, what it earned for export-valued energy. LOCAL energy is valued at the
local price series, or zero when none is set. Lines for different tariff rates (e.g. LOCAL and
IMPORT records for the same period) add up in the bucket totals. Being integrals, costs are
additive over adjacent windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from voltfleet.domain.accounting.buckets import Aggregation, bucket_edges_us, bucket_label
from voltfleet.domain.accounting.records import (
    DIRECTIONS,
    TARIFF_RATES,
    MeterColumns,
    MeterInterval,
    TariffRate,
)
from voltfleet.domain.tariffs.local_time import as_zone
from voltfleet.domain.tariffs.model import Direction
from voltfleet.domain.tariffs.series import (
    Float64Array,
    Int64Array,
    MissingPriceError,
    RateSeries,
    from_us,
    to_us,
)

_COMBOS = len(DIRECTIONS) * len(TARIFF_RATES)


@dataclass(frozen=True, slots=True, eq=False)
class CostRates:
    """Price series per tariff rate, all in ``currency`` per kWh.

    ``local_rates=None`` values LOCAL energy at zero. A series is needed for every tariff rate
    that occurs in the records being costed, covering their part of the window.
    """

    currency: str
    import_rates: RateSeries | None = None
    export_rates: RateSeries | None = None
    local_rates: RateSeries | None = None

    def __post_init__(self) -> None:
        for series in (self.import_rates, self.export_rates, self.local_rates):
            if series is not None and series.currency != self.currency:
                raise ValueError(
                    f"rate series in {series.currency} cannot be used for {self.currency} costs"
                )

    def for_rate(self, rate: TariffRate) -> RateSeries | None:
        if rate is TariffRate.IMPORT:
            return self.import_rates
        if rate is TariffRate.EXPORT:
            return self.export_rates
        return self.local_rates


@dataclass(frozen=True, slots=True)
class CostLine:
    """Energy (kWh) and its money value for one direction and tariff rate."""

    direction: Direction
    tariff_rate: TariffRate
    energy_kwh: float
    cost: float


@dataclass(frozen=True, slots=True)
class CostBucket:
    """One local calendar bucket: totals over ``lines`` (one per direction/tariff rate asked)."""

    start: datetime
    end: datetime
    label: str
    energy_kwh: float
    cost: float
    lines: tuple[CostLine, ...]


@dataclass(frozen=True, slots=True)
class CostReport:
    """Costs over ``[start, end)`` per bucket and in total, money in ``currency``."""

    currency: str
    aggregation: Aggregation
    start: datetime
    end: datetime
    buckets: tuple[CostBucket, ...]
    energy_kwh: float
    cost: float
    lines: tuple[CostLine, ...]

    def line(self, direction: Direction, tariff_rate: TariffRate) -> CostLine | None:
        """The total line for one direction and tariff rate (``None`` if not asked for)."""
        for line in self.lines:
            if line.direction is direction and line.tariff_rate is tariff_rate:
                return line
        return None


def energy_costs(
    records: Sequence[MeterInterval] | MeterColumns,
    rates: CostRates,
    zone: str | ZoneInfo,
    start: datetime,
    end: datetime,
    aggregation: Aggregation = Aggregation.DAY,
    *,
    direction: Direction | None = None,
    tariff_rate: TariffRate | None = None,
) -> CostReport:
    """Energy and cost per local ``aggregation`` bucket over ``[start, end)``.

    ``records``: the site's (or device's) intervals, any order. ``direction`` /
    ``tariff_rate``: keep only those records (``None``: all, each combination its own line).
    Raises ``MissingPriceError`` if a needed price series is missing or too short.
    """
    lo, hi = to_us(start), to_us(end)
    edges_list, days = bucket_edges_us(as_zone(zone), lo, hi, aggregation)
    energy, cost = _accumulate(
        records, rates, np.array(edges_list, dtype=np.int64), direction, tariff_rate
    )
    combos = [
        (d_index, r_index)
        for d_index, d in enumerate(DIRECTIONS)
        for r_index, r in enumerate(TARIFF_RATES)
        if (direction is None or d is direction) and (tariff_rate is None or r is tariff_rate)
    ]
    columns = [d * len(TARIFF_RATES) + r for d, r in combos]
    energy_kwh = energy[:, columns] / 1000.0
    cost = cost[:, columns]
    energy_rows = energy_kwh.tolist()
    cost_rows = cost.tolist()
    buckets = tuple(
        CostBucket(
            from_us(edges_list[b]),
            from_us(edges_list[b + 1]),
            bucket_label(days[b], aggregation),
            float(energy_kwh[b].sum()),
            float(cost[b].sum()),
            tuple(
                CostLine(DIRECTIONS[d], TARIFF_RATES[r], energy_rows[b][c], cost_rows[b][c])
                for c, (d, r) in enumerate(combos)
            ),
        )
        for b in range(len(days))
    )
    total_energy = energy_kwh.sum(axis=0).tolist()
    total_cost = cost.sum(axis=0).tolist()
    lines = tuple(
        CostLine(DIRECTIONS[d], TARIFF_RATES[r], total_energy[c], total_cost[c])
        for c, (d, r) in enumerate(combos)
    )
    return CostReport(
        rates.currency,
        aggregation,
        from_us(lo),
        from_us(hi),
        buckets,
        float(sum(total_energy)),
        float(sum(total_cost)),
        lines,
    )


def _accumulate(
    records: Sequence[MeterInterval] | MeterColumns,
    rates: CostRates,
    edges: Int64Array,
    direction: Direction | None,
    tariff_rate: TariffRate | None,
) -> tuple[Float64Array, Float64Array]:
    """Energy (Wh) and cost per bucket (rows) and direction x tariff rate (columns)."""
    columns = records if isinstance(records, MeterColumns) else MeterColumns.from_intervals(records)
    buckets = len(edges) - 1
    lo, hi = int(edges[0]), int(edges[-1])
    keep = (columns.end_us > lo) & (columns.start_us < hi)
    if direction is not None:
        keep &= columns.direction == DIRECTIONS.index(direction)
    if tariff_rate is not None:
        keep &= columns.tariff_rate == TARIFF_RATES.index(tariff_rate)
    energy = np.zeros((buckets, _COMBOS))
    cost = np.zeros((buckets, _COMBOS))
    if bool(keep.all()):
        s, e = columns.start_us, columns.end_us
        wh, directions, rate_codes = columns.energy_wh, columns.direction, columns.tariff_rate
    else:
        rows = np.flatnonzero(keep)
        if len(rows) == 0:
            return energy, cost
        s, e = columns.start_us[rows], columns.end_us[rows]
        wh = columns.energy_wh[rows]
        directions, rate_codes = columns.direction[rows], columns.tariff_rate[rows]
    a = np.maximum(s, lo)
    b = np.minimum(e, hi)
    # bucket of the first and of the last microsecond of each clipped record
    first = np.searchsorted(edges, a, side="right") - 1
    last = np.searchsorted(edges, b - 1, side="right") - 1
    bucket = first
    if not np.array_equal(first, last):
        # split records that cross bucket edges into one piece per bucket
        pieces = last - first + 1
        owner = np.repeat(np.arange(len(a)), pieces)
        offsets = np.arange(len(owner)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        bucket = first[owner] + offsets
        a = np.maximum(a[owner], edges[bucket])
        b = np.minimum(b[owner], edges[bucket + 1])
        s, e, wh = s[owner], e[owner], wh[owner]
        directions, rate_codes = directions[owner], rate_codes[owner]
    share = (b - a).astype(np.float64) / (e - s).astype(np.float64)
    piece_energy = wh * share
    piece_cost = np.zeros(len(a))
    for code, rate in enumerate(TARIFF_RATES):
        chosen = np.flatnonzero(rate_codes == code)
        if len(chosen) == 0:
            continue
        series = rates.for_rate(rate)
        if series is None:
            if rate is TariffRate.LOCAL:
                continue
            raise MissingPriceError(
                f"no {rate.value} rate series given",
                [(from_us(int(a[chosen].min())), from_us(int(b[chosen].max())))],
            )
        ca, cb = a[chosen], b[chosen]
        _check_covered(series, rate, int(ca.min()), int(cb.max()))
        # energy (kWh) of the piece times the mean price over the piece
        piece_cost[chosen] = (
            piece_energy[chosen] / 1000.0 * (series.integral(ca, cb) / (cb - ca).astype(np.float64))
        )
    slot = bucket * _COMBOS + directions * len(TARIFF_RATES) + rate_codes
    size = buckets * _COMBOS
    energy = np.bincount(slot, weights=piece_energy, minlength=size).astype(np.float64)
    cost = np.bincount(slot, weights=piece_cost, minlength=size).astype(np.float64)
    return energy.reshape(buckets, _COMBOS), cost.reshape(buckets, _COMBOS)


def _check_covered(series: RateSeries, rate: TariffRate, a: int, b: int) -> None:
    first, last = int(series.starts_us[0]), int(series.ends_us[-1])
    missing = []
    if a < first:
        missing.append((from_us(a), from_us(min(b, first))))
    if b > last:
        missing.append((from_us(max(a, last)), from_us(b)))
    if missing:
        raise MissingPriceError(f"the {rate.value} rate series does not cover the records", missing)
