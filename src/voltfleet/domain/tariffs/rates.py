"""Price series of a tariff history over a UTC window, at a resolution, DST-safe.

The price of an instant comes from the tariff version in force on the instant's local date
(site zone). Time-of-use prices follow the local time of day (a 23-hour day skips the slots of
the missing hour, a 25-hour day prices the repeated hour twice). Market prices (any
resolution, e.g. 60 or 15 min) are taken as given, the price formula applied, and resampled
to the requested resolution: each output interval carries the time-weighted mean price over
it, so a finer output repeats the price and a coarser one averages. Output intervals are
aligned to multiples of the resolution since the Unix epoch (UTC) and clipped to the window.
Missing market data is an error naming the missing ranges; prices are never invented.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from voltfleet.domain.tariffs.calendar import DAY_US
from voltfleet.domain.tariffs.local_time import (
    as_zone,
    date_of_index,
    local_midnight_us,
    offset_segments,
)
from voltfleet.domain.tariffs.model import (
    FixedTariff,
    MarketTariff,
    Tariff,
    TariffHistory,
    TouTariff,
)
from voltfleet.domain.tariffs.profiles import TouProfiles, TouWeekProfiles
from voltfleet.domain.tariffs.series import (
    Float64Array,
    Int64Array,
    MissingPriceError,
    PriceInterval,
    RateSeries,
    from_us,
    to_us,
)
from voltfleet.domain.tariffs.validation import check_history

DEFAULT_RESOLUTION = timedelta(minutes=15)

_Pieces = tuple[list[int], list[float]]


def price_series(
    history: TariffHistory | Tariff,
    zone: str | ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    resolution: timedelta | None = DEFAULT_RESOLUTION,
    market: Sequence[PriceInterval] | RateSeries = (),
) -> RateSeries:
    """Prices (currency per kWh) over ``[start, end)`` as contiguous UTC intervals.

    ``history``: the tariff versions (a bare tariff counts as always in force).
    ``zone``: the site's IANA time zone. ``start``/``end``: aware datetimes.
    ``resolution``: output interval length (default 15 min); ``None`` gives one interval
    per constant-price stretch. ``market``: market prices (currency per kWh, any resolution,
    sorted or not, no overlaps) for the stretches where a ``MarketTariff`` is in force.

    Raises ``TariffValidationError`` for an invalid history, ``MissingPriceError`` when no
    version is in force or market data is missing for part of the window, ``ValueError``
    for a bad window, resolution or market series.
    """
    if not isinstance(history, TariffHistory):
        history = TariffHistory.always(history)
    check_history(history)
    tz = as_zone(zone)
    lo, hi = to_us(start), to_us(end)
    if hi <= lo:
        raise ValueError("window end must be after its start")
    if resolution is not None and resolution <= timedelta(0):
        raise ValueError("resolution must be positive")

    versions = history.sorted_versions()
    version_starts = [local_midnight_us(tz, v.valid_from) for v in versions]
    if lo < version_starts[0]:
        first_day = versions[0].valid_from.isoformat()
        raise MissingPriceError(
            f"no tariff version in force before {first_day} (local)",
            [(from_us(lo), from_us(min(hi, version_starts[0])))],
        )

    market_columns = _market_columns(market)
    starts: list[int] = []
    prices: list[float] = []
    missing: list[tuple[int, int]] = []
    for index, version in enumerate(versions):
        v_lo = max(lo, version_starts[index])
        v_hi = hi if index + 1 == len(versions) else min(hi, version_starts[index + 1])
        if v_hi <= v_lo:
            continue
        tariff = version.tariff
        if isinstance(tariff, FixedTariff):
            starts.append(v_lo)
            prices.append(float(tariff.price_per_kwh))
        elif isinstance(tariff, MarketTariff):
            missing.extend(_market_pieces(tariff, market_columns, v_lo, v_hi, starts, prices))
        elif isinstance(tariff, TouTariff):
            _tou_pieces(TouProfiles(tariff), tz, v_lo, v_hi, starts, prices)
        else:
            _tou_pieces(TouWeekProfiles(tariff), tz, v_lo, v_hi, starts, prices)
    if missing:
        raise MissingPriceError(
            "market prices missing", [(from_us(a), from_us(b)) for a, b in _merge(missing)]
        )

    edges = np.array([*starts, hi], dtype=np.int64)
    values = np.array(prices, dtype=np.float64)
    keep = np.concatenate(([True], values[1:] != values[:-1]))
    native = RateSeries(
        edges[:-1][keep], np.append(edges[1:-1][keep[1:]], hi), values[keep], history.currency, None
    )
    if resolution is None:
        return native
    return resample(native, resolution)


def resample(series: RateSeries, resolution: timedelta) -> RateSeries:
    """The series on a grid of ``resolution`` (epoch-aligned, clipped to the series span),
    each interval at the time-weighted mean price over it."""
    step = resolution // timedelta(microseconds=1)
    if step <= 0:
        raise ValueError("resolution must be positive")
    lo, hi = int(series.starts_us[0]), int(series.ends_us[-1])
    interior = np.arange(lo // step + 1, (hi - 1) // step + 1, dtype=np.int64) * step
    grid = np.concatenate((np.array([lo], dtype=np.int64), interior, np.array([hi], np.int64)))
    return RateSeries(
        grid[:-1], grid[1:], mean_prices(series, grid[:-1], grid[1:]), series.currency, resolution
    )


def mean_prices(series: RateSeries, a_us: Int64Array, b_us: Int64Array) -> Float64Array:
    """Time-weighted mean price over each ``[a, b)`` (inside the series); exact when a range
    lies inside one interval."""
    i_a = series.locate(a_us)
    i_b = series.locate(b_us - 1)
    result = series.prices_per_kwh[i_a].copy()
    spanning = np.nonzero(i_a != i_b)[0]
    if len(spanning):
        a, b = a_us[spanning], b_us[spanning]
        result[spanning] = series.integral(a, b) / (b - a).astype(np.float64)
    return result


def _tou_pieces(
    profiles: TouProfiles | TouWeekProfiles,
    zone: ZoneInfo,
    lo: int,
    hi: int,
    starts: list[int],
    prices: list[float],
) -> None:
    """Append (start, price) pieces for ``[lo, hi)`` following local time of day."""
    cache: dict[int, tuple[tuple[int, ...], tuple[float, ...]]] = {}
    for seg_lo, seg_hi, offset in offset_segments(zone, lo, hi):
        local_lo, local_hi = seg_lo + offset, seg_hi + offset
        day = local_lo // DAY_US
        while day * DAY_US < local_hi:
            day_start = day * DAY_US
            if day not in cache:
                profile = profiles.profile(date_of_index(day))
                cache[day] = (profile.boundaries_us, profile.prices)
            boundaries, day_prices = cache[day]
            from_local = max(local_lo, day_start)
            to_local = min(local_hi, day_start + DAY_US)
            i = bisect_right(boundaries, from_local - day_start) - 1
            starts.append(from_local - offset)
            prices.append(day_prices[i])
            i += 1
            while i < len(boundaries) and day_start + boundaries[i] < to_local:
                starts.append(day_start + boundaries[i] - offset)
                prices.append(day_prices[i])
                i += 1
            day += 1


def _market_columns(
    market: Sequence[PriceInterval] | RateSeries,
) -> tuple[Int64Array, Int64Array, Float64Array]:
    if isinstance(market, RateSeries):
        return market.starts_us, market.ends_us, market.prices_per_kwh
    starts = np.array([to_us(p.start) for p in market], dtype=np.int64)
    ends = np.array([to_us(p.end) for p in market], dtype=np.int64)
    values = np.array([p.price_per_kwh for p in market], dtype=np.float64)
    order = np.argsort(starts, kind="stable")
    starts, ends, values = starts[order], ends[order], values[order]
    bad = np.nonzero(ends <= starts)[0]
    if len(bad):
        at = from_us(int(starts[bad[0]])).isoformat()
        raise ValueError(f"market price at {at} has end <= start")
    overlapping = np.nonzero(starts[1:] < ends[:-1])[0]
    if len(overlapping):
        at = from_us(int(starts[overlapping[0] + 1])).isoformat()
        raise ValueError(f"market prices overlap at {at}")
    not_finite = np.nonzero(~np.isfinite(values))[0]
    if len(not_finite):
        at = from_us(int(starts[not_finite[0]])).isoformat()
        raise ValueError(f"market price at {at} is not a finite number")
    return starts, ends, values


def _market_pieces(
    tariff: MarketTariff,
    market: tuple[Int64Array, Int64Array, Float64Array],
    lo: int,
    hi: int,
    starts: list[int],
    prices: list[float],
) -> list[tuple[int, int]]:
    """Append market pieces for ``[lo, hi)``; return the missing ranges."""
    m_starts, m_ends, m_prices = market
    first = int(np.searchsorted(m_ends, lo, side="right"))
    last = int(np.searchsorted(m_starts, hi, side="left"))
    p_starts = np.maximum(m_starts[first:last], lo)
    p_ends = np.minimum(m_ends[first:last], hi)
    values = m_prices[first:last]
    if tariff.formula is not None:
        f = tariff.formula
        values = (values * f.multiplier + (f.markup_per_kwh + f.grid_fee_per_kwh)) * (
            1.0 + f.vat_rate
        )
    covered_to = np.concatenate((np.array([lo], np.int64), p_ends))
    next_from = np.concatenate((p_starts, np.array([hi], np.int64)))
    holes = np.nonzero(next_from > covered_to)[0]
    missing = [(int(covered_to[i]), int(next_from[i])) for i in holes]
    if not missing:
        starts.extend(p_starts.tolist())
        prices.extend(values.tolist())
    return missing


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def version_in_force(history: TariffHistory, day: date) -> Tariff | None:
    """The tariff in force on a local date (``None`` before the first version)."""
    current: Tariff | None = None
    for version in history.sorted_versions():
        if version.valid_from <= day:
            current = version.tariff
    return current
