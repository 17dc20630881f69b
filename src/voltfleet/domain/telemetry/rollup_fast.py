"""The 5-minute statistics of ingest on numpy arrays. Pure.

``rollup.gauge_delta_us`` and ``rollup.energy_delta`` run for every batch over every new sample;
in Python they cost a few microseconds a sample, a third of the ingest budget. When the site's
UTC offset is the same over the whole stretch (no DST change inside it: almost always), a
5-minute period is plain arithmetic on epoch seconds and numpy does the work; otherwise the
callers use the Python definitions (``rollup._energy``, ``rollup._Buckets``). The property tests
in tests/unit/telemetry/test_batch.py compare the results with a full recomputation by those
definitions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np
import numpy.typing as npt

FIVE = 300.0
_SAFE_SPAN = 12 * 3600.0  # two offset changes never come closer than this

Floats = npt.NDArray[np.float64]


def fixed_offset(tz: tzinfo, first_s: float, last_s: float) -> float | None:
    """The zone's UTC offset in seconds when it is the same from first_s to last_s, else None."""
    if last_s - first_s > _SAFE_SPAN:
        return None
    a = datetime.fromtimestamp(first_s, UTC).astimezone(tz).utcoffset()
    b = datetime.fromtimestamp(last_s, UTC).astimezone(tz).utcoffset()
    if a is None or a != b:
        return None
    return a / timedelta(seconds=1)


def starts(t: Floats, offset: float) -> Floats:
    """The start (epoch seconds) of the 5-minute period of each instant, periods aligned to the
    local clock."""
    return np.floor((t + offset) / FIVE) * FIVE - offset


def gauge_stats(
    t: Floats, v: Floats, offset: float
) -> list[tuple[float, float, int, float, float]]:
    """(period start, mean, count, min, max) per 5-minute period, in time order."""
    keys, inverse = np.unique(starts(t, offset), return_inverse=True)
    count = np.bincount(inverse, minlength=len(keys))
    total = np.bincount(inverse, weights=v, minlength=len(keys))
    low = np.full(len(keys), np.inf)
    high = np.full(len(keys), -np.inf)
    np.minimum.at(low, inverse, v)
    np.maximum.at(high, inverse, v)
    return [
        (float(k), float(s / n), int(n), float(lo), float(hi))
        for k, s, n, lo, hi in zip(keys, total, count, low, high, strict=True)
    ]


def energy(
    t: Floats, v: Floats, lo: float, hi: float, offset: float, gap: float
) -> tuple[dict[float, float], dict[float, int]]:
    """``rollup._energy`` for 5-minute periods at a fixed offset: (Wh, samples) per period start
    in [lo, hi), from counter samples in time order."""
    wh: dict[float, float] = {}
    count: dict[float, int] = {}
    inside = (t >= lo) & (t < hi)
    if inside.any():
        keys, n = np.unique(starts(t[inside], offset), return_counts=True)
        count = dict(zip(keys.tolist(), n.tolist(), strict=True))
    if len(t) < 2:
        return wh, count
    a, b = t[:-1], t[1:]
    rise = np.where(v[1:] >= v[:-1], v[1:] - v[:-1], v[1:])  # a reset restarts at zero
    valid = (rise > 0) & (b > lo) & (a < hi)
    across_gap = valid & (b - a > gap)
    # a gap: the rise is booked in the period where it ends
    booked = across_gap & (b >= lo) & (b < hi)
    _add(wh, starts(b[booked], offset), rise[booked])
    spread = valid & ~across_gap
    start_a = starts(a, offset)
    whole = spread & (b <= start_a + FIVE)  # both samples in one period
    keep = whole & (start_a >= lo) & (start_a < hi)
    _add(wh, start_a[keep], rise[keep])
    for i in np.flatnonzero(spread & ~whole).tolist():  # across period edges: in proportion
        _split(wh, float(a[i]), float(b[i]), float(rise[i]), lo, hi, offset)
    return wh, count


def _add(wh: dict[float, float], keys: Floats, values: Floats) -> None:
    if len(keys) == 0:
        return
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(uniq))
    for k, s in zip(uniq.tolist(), sums.tolist(), strict=True):
        wh[k] = wh.get(k, 0.0) + s


def _split(
    wh: dict[float, float], a: float, b: float, rise: float, lo: float, hi: float, offset: float
) -> None:
    per_second = rise / (b - a)
    cur = a
    while cur < b:
        start = float(np.floor((cur + offset) / FIVE) * FIVE - offset)
        seg = min(start + FIVE, b)
        if lo <= start < hi:
            wh[start] = wh.get(start, 0.0) + per_second * (seg - cur)
        if start >= hi:
            break
        cur = seg
