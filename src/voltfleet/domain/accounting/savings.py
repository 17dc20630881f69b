"""Savings of a storage system, the simple method plus the honest extra lines.

From device-level meter records:

- import cost: energy the system took in (``direction=IMPORT``) at its tariff rate (IMPORT
  from the grid, LOCAL for own generation: zero unless a local price is set);
- supplied value: energy the system gave to the premises (``direction=EXPORT``,
  ``tariff_rate=IMPORT`` or ``LOCAL``), valued at that price at the time of supply;
- export earnings: energy sent to the grid (``direction=EXPORT``, ``tariff_rate=EXPORT``);
- savings = supplied value + export earnings - import cost;
- savings_fraction = savings / (supplied value + export earnings), the share of the avoided
  cost that was saved (``None`` when that value is not positive). A fraction: 0.458 is 45.8 %.

What the simple method leaves out, as separate lines: the change of energy stored in the
battery between the window's start and end (and its value at a given price), and round-trip
losses = energy charged - energy discharged (supplied + exported) - change in stored energy.
They are ``None`` when stored energy at the edges is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from voltfleet.domain.accounting.buckets import Aggregation
from voltfleet.domain.accounting.costs import CostLine, CostRates, energy_costs
from voltfleet.domain.accounting.records import MeterColumns, MeterInterval, TariffRate
from voltfleet.domain.tariffs.model import Direction
from voltfleet.domain.tariffs.series import to_us


@dataclass(frozen=True, slots=True)
class StoredEnergySample:
    """Energy stored in the battery (kWh) at an instant (e.g. from state of charge)."""

    at: datetime
    energy_kwh: float


@dataclass(frozen=True, slots=True)
class SavingsLine:
    """Savings over one bucket or the whole window. Money in the report's currency."""

    imported_kwh: float
    import_cost: float
    supplied_kwh: float
    supplied_value: float
    exported_kwh: float
    export_earnings: float
    savings: float
    savings_fraction: float | None
    stored_energy_start_kwh: float | None = None
    stored_energy_end_kwh: float | None = None
    stored_energy_change_kwh: float | None = None
    stored_energy_change_value: float | None = None
    round_trip_losses_kwh: float | None = None

    @property
    def has_energy(self) -> bool:
        """Whether any energy was metered: imported, supplied or exported."""
        return bool(self.imported_kwh or self.supplied_kwh or self.exported_kwh)


@dataclass(frozen=True, slots=True)
class SavingsBucket:
    start: datetime
    end: datetime
    label: str
    savings: SavingsLine


@dataclass(frozen=True, slots=True)
class SavingsReport:
    """Savings per local calendar bucket and in total over ``[start, end)``."""

    currency: str
    aggregation: Aggregation
    start: datetime
    end: datetime
    buckets: tuple[SavingsBucket, ...]
    total: SavingsLine
    stored_energy_price_per_kwh: float | None


def savings_line(
    imported_kwh: float,
    import_cost: float,
    supplied_kwh: float,
    supplied_value: float,
    exported_kwh: float = 0.0,
    export_earnings: float = 0.0,
    *,
    stored_energy_start_kwh: float | None = None,
    stored_energy_end_kwh: float | None = None,
    stored_energy_price_per_kwh: float | None = None,
) -> SavingsLine:
    """Savings from the totals (see the module docstring for the formulas)."""
    avoided = supplied_value + export_earnings
    savings = avoided - import_cost
    change: float | None = None
    change_value: float | None = None
    losses: float | None = None
    if stored_energy_start_kwh is not None and stored_energy_end_kwh is not None:
        change = stored_energy_end_kwh - stored_energy_start_kwh
        losses = imported_kwh - (supplied_kwh + exported_kwh) - change
        if stored_energy_price_per_kwh is not None:
            change_value = change * stored_energy_price_per_kwh
    return SavingsLine(
        imported_kwh=imported_kwh,
        import_cost=import_cost,
        supplied_kwh=supplied_kwh,
        supplied_value=supplied_value,
        exported_kwh=exported_kwh,
        export_earnings=export_earnings,
        savings=savings,
        savings_fraction=savings / avoided if avoided > 0 else None,
        stored_energy_start_kwh=stored_energy_start_kwh,
        stored_energy_end_kwh=stored_energy_end_kwh,
        stored_energy_change_kwh=change,
        stored_energy_change_value=change_value,
        round_trip_losses_kwh=losses,
    )


def savings_report(
    records: Sequence[MeterInterval] | MeterColumns,
    rates: CostRates,
    zone: str | ZoneInfo,
    start: datetime,
    end: datetime,
    aggregation: Aggregation = Aggregation.DAY,
    *,
    stored_energy: Sequence[StoredEnergySample] = (),
    stored_energy_price_per_kwh: float | None = None,
) -> SavingsReport:
    """Savings per bucket and in total from the system's meter records.

    ``stored_energy``: samples of the energy in the battery, linearly interpolated at bucket
    edges (unknown outside the first..last sample). ``stored_energy_price_per_kwh``: the price
    to value the change of stored energy at (``None``: not valued).
    """
    report = energy_costs(records, rates, zone, start, end, aggregation)
    times = np.array([to_us(s.at) for s in stored_energy], dtype=np.int64)
    values = np.array([s.energy_kwh for s in stored_energy], dtype=np.float64)
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]

    def stored_at(moment: datetime) -> float | None:
        if len(times) == 0:
            return None
        at = to_us(moment)
        if at < times[0] or at > times[-1]:
            return None
        return float(np.interp(at, times, values))

    def line(lines: Sequence[CostLine], a: datetime, b: datetime) -> SavingsLine:
        imported = [x for x in lines if x.direction is Direction.IMPORT]
        supplied = [
            x
            for x in lines
            if x.direction is Direction.EXPORT and x.tariff_rate is not TariffRate.EXPORT
        ]
        exported = [
            x
            for x in lines
            if x.direction is Direction.EXPORT and x.tariff_rate is TariffRate.EXPORT
        ]
        return savings_line(
            sum(x.energy_kwh for x in imported),
            sum(x.cost for x in imported),
            sum(x.energy_kwh for x in supplied),
            sum(x.cost for x in supplied),
            sum(x.energy_kwh for x in exported),
            sum(x.cost for x in exported),
            stored_energy_start_kwh=stored_at(a),
            stored_energy_end_kwh=stored_at(b),
            stored_energy_price_per_kwh=stored_energy_price_per_kwh,
        )

    buckets = tuple(
        SavingsBucket(
            bucket.start, bucket.end, bucket.label, line(bucket.lines, bucket.start, bucket.end)
        )
        for bucket in report.buckets
    )
    return SavingsReport(
        currency=report.currency,
        aggregation=aggregation,
        start=report.start,
        end=report.end,
        buckets=buckets,
        total=line(report.lines, report.start, report.end),
        stored_energy_price_per_kwh=stored_energy_price_per_kwh,
    )
