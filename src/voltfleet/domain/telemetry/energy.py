"""A site's energy for bars: periods of its local calendar, and the balance of each bar. Pure.

Energy comes from the devices' counter roll-ups (``rollup.energy``). A site's figure for a data
point is the sum over the devices in its statistical range. The balance follows the sign
conventions of DESIGN.md (pv + grid = load + battery), read for energies over a period:

    pv + import + discharge = consumption + export + charge

so when no device measures consumption (``load_energy_wh``) it is derived from the others.

* PV yield: ``pv_energy_wh``;
* self-consumed PV: the yield that was not exported, ``pv - export`` (it fed the home or the
  battery), never below zero;
* self-consumption rate: self-consumed / yield (None without yield);
* self-sufficiency: the share of consumption not imported, ``1 - import / consumption`` within
  0..1 (None without consumption).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum

from voltfleet.domain.telemetry.rollup import Resolution, Rollup, floor, following

PV = "pv_energy_wh"
IMPORT = "grid_import_energy_wh"
EXPORT = "grid_export_energy_wh"
CHARGE = "battery_charge_energy_wh"
DISCHARGE = "battery_discharge_energy_wh"
LOAD = "load_energy_wh"
ENERGY_POINTS = (PV, IMPORT, EXPORT, CHARGE, DISCHARGE, LOAD)


class Period(StrEnum):
    """What one chart of bars covers; each bar is one step of ``bar_resolution``."""

    DAY = "day"  # by hour
    MONTH = "month"  # by day
    YEAR = "year"  # by month
    TOTAL = "total"  # by year


# The roll-up a period's bars are read from (a year of the total is made of its months).
BAR_RESOLUTION = {
    Period.DAY: Resolution.HOUR,
    Period.MONTH: Resolution.DAY,
    Period.YEAR: Resolution.MONTH,
    Period.TOTAL: Resolution.MONTH,
}


@dataclass(frozen=True)
class Balance:
    """Energies in Wh over one period, and the two rates (fractions 0..1, None when undefined)."""

    pv_wh: float
    consumption_wh: float
    import_wh: float
    export_wh: float
    charge_wh: float
    discharge_wh: float
    self_consumed_wh: float
    self_consumption: float | None
    self_sufficiency: float | None
    consumption_measured: bool


def balance(
    pv_wh: float,
    import_wh: float,
    export_wh: float,
    charge_wh: float = 0.0,
    discharge_wh: float = 0.0,
    load_wh: float | None = None,
) -> Balance:
    """The balance of one period. ``load_wh`` is the measured consumption, if any device
    measures it; otherwise consumption = pv + import + discharge - export - charge (>= 0)."""
    measured = load_wh is not None
    if load_wh is None:
        consumption = max(0.0, pv_wh + import_wh + discharge_wh - export_wh - charge_wh)
    else:
        consumption = max(0.0, load_wh)
    self_consumed = max(0.0, pv_wh - export_wh)
    rate = min(1.0, self_consumed / pv_wh) if pv_wh > 0 else None
    sufficiency = min(1.0, max(0.0, 1.0 - import_wh / consumption)) if consumption > 0 else None
    return Balance(
        pv_wh=pv_wh,
        consumption_wh=consumption,
        import_wh=import_wh,
        export_wh=export_wh,
        charge_wh=charge_wh,
        discharge_wh=discharge_wh,
        self_consumed_wh=self_consumed,
        self_consumption=rate,
        self_sufficiency=sufficiency,
        consumption_measured=measured,
    )


def balance_of(totals: Mapping[str, float], load_measured: bool) -> Balance:
    """The balance from a mapping of energy point -> Wh (missing points count as 0)."""
    return balance(
        totals.get(PV, 0.0),
        totals.get(IMPORT, 0.0),
        totals.get(EXPORT, 0.0),
        totals.get(CHARGE, 0.0),
        totals.get(DISCHARGE, 0.0),
        totals.get(LOAD, 0.0) if load_measured else None,
    )


@dataclass(frozen=True)
class Bar:
    """One bar: [start, end) in UTC, its label in the site's local calendar, and its balance."""

    start: datetime
    end: datetime
    label: str
    balance: Balance


def window(period: Period, day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local day, month or year containing ``day``. For ``TOTAL``
    the caller chooses the window (the years with data); this gives the year of ``day``."""
    if period is Period.DAY:
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        return start.astimezone(UTC), following(start.astimezone(UTC), Resolution.DAY, tz)
    if period is Period.MONTH:
        start = datetime(day.year, day.month, 1, tzinfo=tz).astimezone(UTC)
        return start, following(start, Resolution.MONTH, tz)
    start = datetime(day.year, 1, 1, tzinfo=tz).astimezone(UTC)
    return start, datetime(day.year + 1, 1, 1, tzinfo=tz).astimezone(UTC)


def _label(start: datetime, period: Period, tz: tzinfo) -> str:
    local = start.astimezone(tz)
    if period is Period.DAY:
        return local.strftime("%H:%M")
    if period is Period.MONTH:
        return local.strftime("%Y-%m-%d")
    if period is Period.YEAR:
        return local.strftime("%Y-%m")
    return local.strftime("%Y")


def bar_starts(period: Period, start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """The starts (UTC) of the bars of [start, end): every hour, day, month, or year."""
    out: list[datetime] = []
    if period is Period.TOTAL:
        local = start.astimezone(tz)
        year = local.year
        at = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
        while at < end:
            out.append(at)
            year += 1
            at = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
        return out
    resolution = BAR_RESOLUTION[period]
    at = floor(start, resolution, tz)
    while at < end:
        out.append(at)
        at = following(at, resolution, tz)
    return out


def bars(
    period: Period,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    series: Mapping[str, Iterable[Rollup]],
    load_measured: bool | None = None,
) -> list[Bar]:
    """Bars of [start, end) from the site's roll-ups per energy point (the roll-ups of all its
    counted devices, at ``BAR_RESOLUTION[period]``; rows of several devices simply add up).
    Every bar of the window is returned, empty ones with zeros. ``load_measured`` defaults to
    whether any ``load_energy_wh`` row is present."""
    starts = bar_starts(period, start, end, tz)
    if not starts:
        return []
    edges = [s.timestamp() for s in starts] + [_bar_end(period, starts[-1], tz).timestamp()]
    sums: list[dict[str, float]] = [{} for _ in starts]
    seen_load = False
    for name, rows in series.items():
        for r in rows:
            t = r.start.timestamp()
            i = bisect.bisect_right(edges, t) - 1
            if 0 <= i < len(starts):
                acc = sums[i]
                acc[name] = acc.get(name, 0.0) + r.value
                if name == LOAD:
                    seen_load = True
    measured = seen_load if load_measured is None else load_measured
    out: list[Bar] = []
    for i, s in enumerate(starts):
        e = datetime.fromtimestamp(edges[i + 1], UTC)
        out.append(Bar(s, e, _label(s, period, tz), balance_of(sums[i], measured)))
    return out


def _bar_end(period: Period, start: datetime, tz: tzinfo) -> datetime:
    if period is Period.TOTAL:
        year = start.astimezone(tz).year + 1
        return datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
    return following(start, BAR_RESOLUTION[period], tz)


def total(items: Sequence[Bar]) -> Balance:
    """The balance of all the bars together (rates from the sums, not averaged)."""
    keys = {
        PV: sum(b.balance.pv_wh for b in items),
        IMPORT: sum(b.balance.import_wh for b in items),
        EXPORT: sum(b.balance.export_wh for b in items),
        CHARGE: sum(b.balance.charge_wh for b in items),
        DISCHARGE: sum(b.balance.discharge_wh for b in items),
    }
    measured = any(b.balance.consumption_measured for b in items)
    if measured:
        keys[LOAD] = sum(b.balance.consumption_wh for b in items)
    return balance_of(keys, measured)
