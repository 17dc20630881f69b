"""Energy-by-deadline schedules: when to import (cheapest) or export (most lucrative).

Given a price series (currency per kWh) over a window, an amount of energy (kWh) and a power
limit (kW), choose intervals and a power for each:

- default: the best intervals first (IMPORT: cheapest, EXPORT: dearest; ties to the earliest),
  each at ``max_power_kw``; the marginal interval gets the remainder at partial power. This is
  the optimum (a fractional knapsack).
- ``continuous=True``: one contiguous run of intervals at ``max_power_kw``, with the partial
  power in the last (or, when that is better, the first) interval of the run; the best run by
  cost (IMPORT) or earnings (EXPORT), earliest on ties.

The power never exceeds ``max_power_kw``, every slot lies in the window, and the energies add
up to ``energy_kwh``. If the energy cannot fit, ``ScheduleError`` says how much fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from voltfleet.domain.slots import Segment, best_first
from voltfleet.domain.tariffs.model import Direction
from voltfleet.domain.tariffs.series import (
    Float64Array,
    Int64Array,
    RateSeries,
    datetimes_from_us,
    format_utc,
)

_US_PER_HOUR = 3_600_000_000.0
_RELATIVE_TOLERANCE = 1e-12


class ScheduleError(ValueError):
    """The schedule cannot be made; for a window too short, ``max_fit_kwh`` says what fits."""

    def __init__(
        self, message: str, requested_kwh: float | None = None, max_fit_kwh: float | None = None
    ) -> None:
        super().__init__(message)
        self.requested_kwh = requested_kwh
        self.max_fit_kwh = max_fit_kwh


@dataclass(frozen=True, slots=True)
class ScheduleSlot:
    """One interval of a schedule.

    ``power_kw`` (>= 0, at most the limit) held over ``[start, end)``; ``energy_kwh`` moved;
    ``price_per_kwh`` of the interval; ``cost`` for IMPORT (``None`` for EXPORT) and
    ``earnings`` for EXPORT (``None`` for IMPORT), both ``energy_kwh * price_per_kwh``.
    """

    start: datetime
    end: datetime
    power_kw: float
    energy_kwh: float
    price_per_kwh: float
    cost: float | None
    earnings: float | None


@dataclass(frozen=True, slots=True)
class Schedule:
    """A schedule and its totals. ``start``/``end`` span the slots (``None`` when empty)."""

    direction: Direction
    currency: str
    window_start: datetime
    window_end: datetime
    slots: tuple[ScheduleSlot, ...]
    energy_kwh: float
    cost: float | None
    earnings: float | None
    mean_price_per_kwh: float | None
    start: datetime | None
    end: datetime | None


def plan_schedule(
    rates: RateSeries,
    direction: Direction,
    energy_kwh: float,
    max_power_kw: float,
    *,
    continuous: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Schedule:
    """Schedule ``energy_kwh`` within the window at up to ``max_power_kw``.

    ``rates``: the IMPORT or EXPORT price series of the site (currency per kWh), covering the
    window (``start``/``end`` default to the series' span).
    """
    if not math.isfinite(energy_kwh) or energy_kwh < 0:
        raise ScheduleError(f"energy_kwh must be a finite number >= 0, got {energy_kwh}")
    if not math.isfinite(max_power_kw) or max_power_kw <= 0:
        raise ScheduleError(f"max_power_kw must be a finite number > 0, got {max_power_kw}")
    series = rates.window(start, end)
    starts, ends, prices = series.starts_us, series.ends_us, series.prices_per_kwh
    hours = (ends - starts).astype(np.float64) / _US_PER_HOUR
    capacity = max_power_kw * hours
    total_capacity = float(capacity.sum())
    if energy_kwh > total_capacity * (1 + _RELATIVE_TOLERANCE):
        raise ScheduleError(
            f"{energy_kwh:g} kWh does not fit between {format_utc(int(starts[0]))} and "
            f"{format_utc(int(ends[-1]))} at {max_power_kw:g} kW: at most "
            f"{total_capacity:.6g} kWh fit",
            energy_kwh,
            total_capacity,
        )
    if energy_kwh == 0:
        return _schedule(
            direction, series, starts[:0], prices[:0], hours[:0], hours[:0], max_power_kw
        )
    segment = Segment.LOW if direction is Direction.IMPORT else Segment.HIGH
    if continuous:
        picked, energies = _continuous(capacity, prices, energy_kwh, segment)
    else:
        picked, energies = _best_intervals(starts, capacity, prices, energy_kwh, segment)
    keep = energies > 0
    picked, energies = picked[keep], energies[keep]
    return _schedule(
        direction, series, picked, prices[picked], energies, hours[picked], max_power_kw
    )


def _best_intervals(
    starts: Int64Array,
    capacity: Float64Array,
    prices: Float64Array,
    energy_kwh: float,
    segment: Segment,
) -> tuple[Int64Array, Float64Array]:
    order = best_first(starts, prices, segment)
    cumulative = np.cumsum(capacity[order])
    target = energy_kwh * (1 - _RELATIVE_TOLERANCE)
    count = min(int(np.searchsorted(cumulative, target, side="left")) + 1, len(order))
    chosen = order[:count]
    energies = capacity[chosen].copy()
    before = float(cumulative[count - 2]) if count > 1 else 0.0
    energies[-1] = min(max(energy_kwh - before, 0.0), float(capacity[chosen[-1]]))
    by_time = np.argsort(chosen, kind="stable")
    return chosen[by_time], energies[by_time]


def _continuous(
    capacity: Float64Array, prices: Float64Array, energy_kwh: float, segment: Segment
) -> tuple[Int64Array, Float64Array]:
    n = len(capacity)
    cap_sum = np.concatenate(([0.0], np.cumsum(capacity)))
    money_sum = np.concatenate(([0.0], np.cumsum(capacity * prices)))
    eps = energy_kwh * _RELATIVE_TOLERANCE
    index = np.arange(n + 1, dtype=np.int64)

    # Runs first..last with the partial power in the last interval.
    a_first = index[:-1]
    a_last = np.searchsorted(cap_sum, cap_sum[a_first] + energy_kwh - eps, side="left") - 1
    a_ok = (a_last < n) & (a_last >= a_first)
    a_first, a_last = a_first[a_ok], a_last[a_ok]
    a_money = (money_sum[a_last] - money_sum[a_first]) + (
        energy_kwh - (cap_sum[a_last] - cap_sum[a_first])
    ) * prices[a_last]

    # Runs first..last with the partial power in the first interval.
    b_last = index[:-1]
    b_first = np.searchsorted(cap_sum, cap_sum[b_last + 1] - energy_kwh + eps, side="right") - 1
    b_ok = (b_first >= 0) & (b_first <= b_last)
    b_first, b_last = b_first[b_ok], b_last[b_ok]
    b_money = (money_sum[b_last + 1] - money_sum[b_first + 1]) + (
        energy_kwh - (cap_sum[b_last + 1] - cap_sum[b_first + 1])
    ) * prices[b_first]

    firsts = np.concatenate((a_first, b_first))
    lasts = np.concatenate((a_last, b_last))
    money = np.concatenate((a_money, b_money))
    family = np.concatenate((np.zeros(len(a_first), np.int64), np.ones(len(b_first), np.int64)))
    score = money if segment is Segment.LOW else -money
    best = float(score.min())
    tolerance = 1e-12 * max(1.0, float(np.abs(score).max()))
    near = np.nonzero(score <= best + tolerance)[0]
    winner = near[np.lexsort((family[near], firsts[near]))[0]]
    first, last = int(firsts[winner]), int(lasts[winner])
    picked = np.arange(first, last + 1, dtype=np.int64)
    energies = capacity[first : last + 1].copy()
    if family[winner] == 0:
        full = float(cap_sum[last] - cap_sum[first])
        energies[-1] = min(max(energy_kwh - full, 0.0), float(capacity[last]))
    else:
        full = float(cap_sum[last + 1] - cap_sum[first + 1])
        energies[0] = min(max(energy_kwh - full, 0.0), float(capacity[first]))
    return picked, energies


def _schedule(
    direction: Direction,
    series: RateSeries,
    picked: Int64Array,
    prices: Float64Array,
    energies: Float64Array,
    hours: Float64Array,
    max_power_kw: float,
) -> Schedule:
    powers = np.minimum(energies / np.where(hours > 0, hours, 1.0), max_power_kw)
    money = energies * prices
    is_import = direction is Direction.IMPORT
    start_list = series.starts_us[picked].tolist()
    end_list = series.ends_us[picked].tolist()
    moment = datetimes_from_us(start_list + end_list)
    slots = tuple(
        ScheduleSlot(
            moment[s],
            moment[e],
            power,
            energy,
            price,
            amount if is_import else None,
            None if is_import else amount,
        )
        for s, e, power, energy, price, amount in zip(
            start_list,
            end_list,
            powers.tolist(),
            energies.tolist(),
            prices.tolist(),
            money.tolist(),
            strict=True,
        )
    )
    total_energy = float(energies.sum())
    total_money = float(money.sum())
    return Schedule(
        direction=direction,
        currency=series.currency,
        window_start=series.start,
        window_end=series.end,
        slots=slots,
        energy_kwh=total_energy,
        cost=total_money if is_import else None,
        earnings=None if is_import else total_money,
        mean_price_per_kwh=total_money / total_energy if total_energy > 0 else None,
        start=slots[0].start if slots else None,
        end=slots[-1].end if slots else None,
    )
