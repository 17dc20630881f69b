"""Price slots: which parts of a window are dear (HIGH) or cheap (LOW).

Two selections over a ``RateSeries`` (prices per kWh, contiguous UTC intervals):

- ``threshold_slots``: the intervals whose price is in the top (HIGH) or bottom (LOW) part of
  the window's price range. ``relative`` is the share of the range selected, counted from the
  top for HIGH and from the bottom for LOW: HIGH keeps ``price >= max - relative*(max - min)``
  (so ``relative=0.5`` keeps ``price >= min + 0.5*(max - min)``), LOW keeps
  ``price <= min + relative*(max - min)``. ``absolute`` compares with a price instead:
  HIGH keeps ``price >= absolute``, LOW keeps ``price <= absolute``.
- ``time_slots``: the cheapest (LOW) or dearest (HIGH) ``duration`` of the window, either as
  the best set of intervals (the last one cut short if needed) or, with ``continuous=True``,
  the best single contiguous block of exactly ``duration`` (it may start or end inside an
  interval). Ties go to the earliest.

Results never overlap, are sorted by time and stay inside the window; ``ranges`` merges
adjacent selected intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from voltfleet.domain.tariffs.series import (
    Float64Array,
    Int64Array,
    PriceInterval,
    RateSeries,
    datetimes_from_us,
)

_US = timedelta(microseconds=1)


class Segment(StrEnum):
    """HIGH: the dear part of the price range; LOW: the cheap part."""

    HIGH = "HIGH"
    LOW = "LOW"


class SlotSelectionError(ValueError):
    """The selection asked for cannot be made (bad parameters or window too short)."""


@dataclass(frozen=True, slots=True)
class SlotRange:
    """Adjacent selected intervals merged: ``[start, end)`` with min/max/time-weighted mean
    price per kWh."""

    start: datetime
    end: datetime
    min_price_per_kwh: float
    max_price_per_kwh: float
    mean_price_per_kwh: float

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class SlotSelection:
    """Selected slots over the window ``[start, end)``.

    ``slots``: raw selected intervals (clipped), time order. ``ranges``: the same merged where
    adjacent. ``threshold_per_kwh``: the price bound used (threshold selection only).
    ``duration``: total selected time. ``mean_price_per_kwh``: time-weighted mean of the
    selection (``None`` when nothing is selected).
    """

    segment: Segment
    start: datetime
    end: datetime
    slots: tuple[PriceInterval, ...]
    ranges: tuple[SlotRange, ...]
    threshold_per_kwh: float | None
    duration: timedelta
    mean_price_per_kwh: float | None


def threshold_slots(
    rates: RateSeries,
    segment: Segment,
    *,
    relative: float | None = None,
    absolute: float | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> SlotSelection:
    """Intervals in the top (HIGH) or bottom (LOW) part of the window's price range.

    Give exactly one of ``relative`` (0..1, share of the range) or ``absolute`` (a price per
    kWh). The window defaults to the whole series and must lie inside it.
    """
    if (relative is None) == (absolute is None):
        raise SlotSelectionError("give exactly one of relative or absolute")
    series = rates.window(start, end)
    prices = series.prices_per_kwh
    if relative is not None:
        if not math.isfinite(relative) or not 0.0 <= relative <= 1.0:
            raise SlotSelectionError(f"relative must be between 0 and 1, got {relative}")
        low, high = float(prices.min()), float(prices.max())
        if segment is Segment.HIGH:
            threshold = low if relative == 1.0 else high - relative * (high - low)
        else:
            threshold = high if relative == 1.0 else low + relative * (high - low)
    else:
        assert absolute is not None
        if not math.isfinite(absolute):
            raise SlotSelectionError(f"absolute must be a finite price, got {absolute}")
        threshold = absolute
    mask = prices >= threshold if segment is Segment.HIGH else prices <= threshold
    chosen = np.nonzero(mask)[0]
    return _selection(
        segment,
        series,
        series.starts_us[chosen],
        series.ends_us[chosen],
        prices[chosen],
        threshold,
    )


def time_slots(
    rates: RateSeries,
    segment: Segment,
    duration: timedelta,
    *,
    continuous: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
) -> SlotSelection:
    """The cheapest (LOW) or dearest (HIGH) ``duration`` of the window.

    ``continuous=False``: the best set of intervals, best price first, ties to the earliest;
    the marginal interval is cut to its first part. ``continuous=True``: the single block of
    exactly ``duration`` with the lowest (LOW) or highest (HIGH) mean price, earliest on ties.
    """
    series = rates.window(start, end)
    wanted = duration // _US
    lo, hi = int(series.starts_us[0]), int(series.ends_us[-1])
    if wanted <= 0:
        raise SlotSelectionError("duration must be positive")
    if wanted > hi - lo:
        raise SlotSelectionError(
            f"duration of {duration / timedelta(minutes=1):g} min does not fit in the window "
            f"of {(hi - lo) / 60e6:g} min"
        )
    if continuous:
        block_start = best_block_start(series, wanted, segment)
        return _block(segment, series, block_start, block_start + wanted)
    starts, ends, prices = series.starts_us, series.ends_us, series.prices_per_kwh
    order = best_first(starts, prices, segment)
    widths = (ends - starts)[order]
    cumulative = np.cumsum(widths)
    count = int(np.searchsorted(cumulative, wanted, side="left")) + 1
    picked = np.sort(order[:count])
    sel_starts = starts[picked]
    sel_ends = ends[picked].copy()
    marginal = order[count - 1]
    overshoot = int(cumulative[count - 1]) - wanted
    if overshoot:
        where = int(np.searchsorted(sel_starts, starts[marginal]))
        sel_ends[where] -= overshoot
    return _selection(segment, series, sel_starts, sel_ends, prices[picked], None)


def best_first(starts: Int64Array, prices: Float64Array, segment: Segment) -> Int64Array:
    """Interval indices ordered best price first (LOW: cheapest), ties by earliest start."""
    key = prices if segment is Segment.LOW else -prices
    return np.lexsort((starts, key)).astype(np.int64)


def best_block_start(series: RateSeries, length_us: int, segment: Segment) -> int:
    """Start of the contiguous block of ``length_us`` with the best total price (earliest on
    ties). The optimum starts or ends on an interval edge, so only those are tried."""
    edges = series.edges_us()
    lo, hi = int(edges[0]), int(edges[-1])
    candidates = np.unique(np.concatenate((edges, edges - length_us)))
    candidates = candidates[(candidates >= lo) & (candidates <= hi - length_us)]
    totals = series.integral(candidates, candidates + length_us)
    if segment is Segment.HIGH:
        totals = -totals
    best = float(totals.min())
    tolerance = 1e-12 * max(1.0, float(np.abs(totals).max()))
    return int(candidates[np.nonzero(totals <= best + tolerance)[0][0]])


def _block(segment: Segment, series: RateSeries, a: int, b: int) -> SlotSelection:
    starts, ends = series.starts_us, series.ends_us
    first = int(np.searchsorted(ends, a, side="right"))
    last = int(np.searchsorted(starts, b, side="left"))
    sel_starts = np.maximum(starts[first:last], a)
    sel_ends = np.minimum(ends[first:last], b)
    return _selection(
        segment, series, sel_starts, sel_ends, series.prices_per_kwh[first:last], None
    )


def _selection(
    segment: Segment,
    series: RateSeries,
    starts: Int64Array,
    ends: Int64Array,
    prices: Float64Array,
    threshold: float | None,
) -> SlotSelection:
    window_start, window_end = series.start, series.end
    if len(starts) == 0:
        return SlotSelection(
            segment, window_start, window_end, (), (), threshold, timedelta(0), None
        )
    start_list = starts.tolist()
    end_list = ends.tolist()
    moment = datetimes_from_us(start_list + end_list)
    slots = tuple(
        PriceInterval(moment[s], moment[e], p)
        for s, e, p in zip(start_list, end_list, prices.tolist(), strict=True)
    )
    widths = (ends - starts).astype(np.float64)
    weighted = prices * widths
    heads = np.concatenate(([0], np.nonzero(starts[1:] != ends[:-1])[0] + 1))
    tails = np.append(heads[1:], len(starts)) - 1
    minima = np.minimum.reduceat(prices, heads).tolist()
    maxima = np.maximum.reduceat(prices, heads).tolist()
    means = (np.add.reduceat(weighted, heads) / np.add.reduceat(widths, heads)).tolist()
    ranges = tuple(
        SlotRange(moment[start_list[h]], moment[end_list[t]], lo, hi, mean)
        for h, t, lo, hi, mean in zip(
            heads.tolist(), tails.tolist(), minima, maxima, means, strict=True
        )
    )
    total = int((ends - starts).sum())
    mean_price = float(weighted.sum() / widths.sum())
    return SlotSelection(
        segment,
        window_start,
        window_end,
        slots,
        ranges,
        threshold,
        timedelta(microseconds=total),
        mean_price,
    )
