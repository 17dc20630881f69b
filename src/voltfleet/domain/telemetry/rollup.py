"""Roll-ups of a series into periods: energy from counters, averages of gauges. Pure.

Periods are 5 minutes, hours, days and months *of the site's local calendar* (a day in Berlin
starts at local midnight, and a DST day has 23 or 25 hours), returned as UTC instants. Each
period's row carries its resolution (``Resolution``) and the instant it starts; it ends where the
next one starts.

Energy from a counter (Wh, monotonic) is the rise between consecutive samples, spread linearly
over the time between them, so a period boundary between two samples splits the rise in
proportion. Two robustness rules:

* **Reset**: when the counter goes down (replaced meter, firmware reset), the new value is the
  energy since it restarted from zero; the drop itself is never negative energy.
* **Gap**: when two samples are further apart than ``max_gap`` (default one hour), the rise is not
  guessed across the gap but booked in the period where the gap ends: nothing is lost, and no
  period inside an outage gets invented energy.

Averages of gauges (power, SoC, temperature ...) are the mean, minimum and maximum of the samples
in the period. Coarser periods are built from finer ones with ``combine`` (energy adds up; means
are weighted by their sample counts), so a late reading recomputes only the periods around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

import numpy as np

from voltfleet.domain.telemetry.readings import Sample
from voltfleet.domain.telemetry.rollup_fast import energy as fast_energy
from voltfleet.domain.telemetry.rollup_fast import fixed_offset, gauge_stats


class Resolution(StrEnum):
    FIVE_MIN = "5min"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


FIXED_SECONDS = {Resolution.FIVE_MIN: 300, Resolution.HOUR: 3600}
# Each resolution is built from the one before it (5-minute periods from the samples).
LADDER = (Resolution.FIVE_MIN, Resolution.HOUR, Resolution.DAY, Resolution.MONTH)
DEFAULT_MAX_GAP = timedelta(hours=1)


@dataclass(frozen=True)
class Rollup:
    """One period of a series. For energy ``value`` is the energy in Wh and ``low``/``high`` are
    None; for a gauge ``value`` is the mean and ``low``/``high`` the extremes. ``samples`` is how
    many samples fell in the period."""

    start: datetime  # UTC
    value: float
    samples: int
    low: float | None = None
    high: float | None = None


def floor(ts: datetime, resolution: Resolution, tz: tzinfo = UTC) -> datetime:
    """The start (UTC) of the period of ``resolution`` in zone ``tz`` that contains ``ts``."""
    local = ts.astimezone(tz)
    if resolution in FIXED_SECONDS:
        size = FIXED_SECONDS[resolution]
        offset = local.utcoffset() or timedelta(0)
        shifted = ts.timestamp() + offset.total_seconds()
        start = shifted - shifted % size - offset.total_seconds()
        return datetime.fromtimestamp(start, UTC)
    if resolution is Resolution.DAY:
        return datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)
    return datetime(local.year, local.month, 1, tzinfo=tz).astimezone(UTC)


def following(start: datetime, resolution: Resolution, tz: tzinfo = UTC) -> datetime:
    """The start (UTC) of the period after the one starting at ``start``."""
    if resolution in FIXED_SECONDS:
        return start + timedelta(seconds=FIXED_SECONDS[resolution])
    local = start.astimezone(tz)
    if resolution is Resolution.DAY:
        nxt = local.date() + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=tz).astimezone(UTC)


def periods(
    start: datetime, end: datetime, resolution: Resolution, tz: tzinfo = UTC
) -> Iterator[datetime]:
    """Starts of the periods that overlap [start, end)."""
    at = floor(start, resolution, tz)
    while at < end:
        yield at
        at = following(at, resolution, tz)


def span(
    lo: datetime, hi: datetime, resolution: Resolution, tz: tzinfo = UTC
) -> tuple[datetime, datetime]:
    """[start, end) of the whole periods that cover the instants lo..hi (inclusive)."""
    start = floor(lo, resolution, tz)
    return start, following(floor(hi, resolution, tz), resolution, tz)


class _Buckets:
    """Fast period lookup for epoch seconds; fixed-length periods by arithmetic."""

    def __init__(self, resolution: Resolution, tz: tzinfo) -> None:
        self.resolution = resolution
        self.tz = tz
        self.size = FIXED_SECONDS.get(resolution)
        self.utc = tz is UTC or getattr(tz, "key", None) in ("UTC", "Etc/UTC")

        self._last = (0.0, 0.0)

    def floor(self, t: float) -> tuple[float, float]:
        """(start, end) in epoch seconds of the period containing t."""
        if self.size is not None and self.utc:
            start = t - t % self.size
            return start, start + self.size
        last = self._last
        if last[0] <= t < last[1]:  # samples come in time order: mostly the same period
            return last
        ts = datetime.fromtimestamp(t, UTC)
        start_dt = floor(ts, self.resolution, self.tz)
        self._last = (
            start_dt.timestamp(),
            following(start_dt, self.resolution, self.tz).timestamp(),
        )
        return self._last


def energy(
    samples: Sequence[Sample],
    start: datetime,
    end: datetime,
    resolution: Resolution = Resolution.FIVE_MIN,
    tz: tzinfo = UTC,
    max_gap: timedelta = DEFAULT_MAX_GAP,
) -> list[Rollup]:
    """Energy (Wh) per period in [start, end) from counter samples in time order.

    Give the samples inside [start, end) plus the last one before ``start`` and the first one
    after ``end`` (when they exist), so rises across the edges are split correctly. Periods with
    neither energy nor samples are left out.
    """
    wh, count = _energy(
        [x.ts.timestamp() for x in samples],
        [x.value for x in samples],
        start.timestamp(),
        end.timestamp(),
        _Buckets(resolution, tz),
        max_gap.total_seconds(),
    )
    keys = sorted(set(wh) | set(count))
    return [
        Rollup(datetime.fromtimestamp(k, UTC), wh.get(k, 0.0), count.get(k, 0))
        for k in keys
        if wh.get(k, 0.0) != 0.0 or count.get(k, 0)
    ]


def _energy(
    times: Sequence[float],
    values: Sequence[float],
    lo: float,
    hi: float,
    buckets: _Buckets,
    gap: float,
) -> tuple[dict[float, float], dict[float, int]]:
    """(Wh, samples) per period start (epoch seconds) in [lo, hi): ``energy`` on plain numbers."""
    wh: dict[float, float] = {}
    count: dict[float, int] = {}
    prev_t: float | None = None
    prev_v = 0.0
    for t, v in zip(times, values, strict=True):
        if lo <= t < hi:
            b0, _ = buckets.floor(t)
            count[b0] = count.get(b0, 0) + 1
        if prev_t is not None:
            rise = v - prev_v if v >= prev_v else v  # a reset restarts at zero
            if rise > 0 and t > lo and prev_t < hi:
                if t - prev_t > gap:
                    if lo <= t < hi:
                        b0, _ = buckets.floor(t)
                        wh[b0] = wh.get(b0, 0.0) + rise
                else:
                    _spread(wh, buckets, prev_t, t, rise, lo, hi)
        prev_t, prev_v = t, v
    return wh, count


def _spread(
    wh: dict[float, float], buckets: _Buckets, a: float, b: float, rise: float, lo: float, hi: float
) -> None:
    """Book ``rise`` over (a, b] in proportion to the time in each period, inside [lo, hi)."""
    start, end = buckets.floor(a)
    if b <= end:  # the common case: both samples in one period
        if lo <= start < hi:
            wh[start] = wh.get(start, 0.0) + rise
        return
    per_second = rise / (b - a)
    cur = a
    while cur < b:
        start, end = buckets.floor(cur)
        seg = min(end, b)
        if lo <= start < hi:
            wh[start] = wh.get(start, 0.0) + per_second * (seg - cur)
        if start >= hi:
            break
        cur = seg


def average(
    samples: Sequence[Sample],
    start: datetime,
    end: datetime,
    resolution: Resolution = Resolution.FIVE_MIN,
    tz: tzinfo = UTC,
) -> list[Rollup]:
    """Mean, minimum and maximum of the samples in each period of [start, end)."""
    buckets = _Buckets(resolution, tz)
    lo, hi = start.timestamp(), end.timestamp()
    acc: dict[float, list[float]] = {}
    for s in samples:
        t = s.ts.timestamp()
        if not lo <= t < hi:
            continue
        b0, _ = buckets.floor(t)
        row = acc.get(b0)
        if row is None:
            acc[b0] = [s.value, 1.0, s.value, s.value]
        else:
            row[0] += s.value
            row[1] += 1
            row[2] = min(row[2], s.value)
            row[3] = max(row[3], s.value)
    return [
        Rollup(datetime.fromtimestamp(k, UTC), r[0] / r[1], int(r[1]), r[2], r[3])
        for k, r in sorted(acc.items())
    ]


def combine(
    children: Sequence[Rollup],
    resolution: Resolution,
    tz: tzinfo = UTC,
    *,
    is_energy: bool,
) -> list[Rollup]:
    """Coarser periods from finer ones: energy adds up, means are weighted by sample counts."""
    buckets = _Buckets(resolution, tz)
    acc: dict[float, list[float]] = {}
    for c in children:
        b0, _ = buckets.floor(c.start.timestamp())
        row = acc.setdefault(b0, [0.0, 0.0, float("inf"), float("-inf"), 0.0])
        if is_energy:
            row[0] += c.value
        else:
            row[0] += c.value * c.samples
            row[2] = min(row[2], c.low if c.low is not None else c.value)
            row[3] = max(row[3], c.high if c.high is not None else c.value)
        row[1] += c.samples
        row[4] += 1
    out: list[Rollup] = []
    for k, r in sorted(acc.items()):
        start = datetime.fromtimestamp(k, UTC)
        if is_energy:
            out.append(Rollup(start, r[0], int(r[1])))
        elif r[1] > 0:
            out.append(Rollup(start, r[0] / r[1], int(r[1]), r[2], r[3]))
    return out


# ---- incremental roll-ups -------------------------------------------------------------------
# Ingest does not recompute a period from all its samples when readings arrive: it computes what
# the new readings *change* (a delta per period and resolution) and merges that into the stored
# rows (``merge``; the adapters do the same merge in SQL). For gauges the delta is the new
# samples' own statistics; for counters it is the energy of the series with the new samples minus
# the energy without them, over the stretch between the stored neighbours. Property tests show
# the result equals a full recomputation (tests/unit/telemetry/test_incremental_rollups.py).


def gauge_delta_us(ts_us: Sequence[int], values: Sequence[float], tz: tzinfo) -> list[Rollup]:
    """Mean, min, max and count per 5-minute period of new gauge samples (instants in epoch
    microseconds, any order)."""
    if not ts_us:
        return []
    offset = fixed_offset(tz, min(ts_us) / 1_000_000, max(ts_us) / 1_000_000)
    if offset is not None:  # the common case, on arrays
        t = np.asarray(ts_us, dtype=np.float64) / 1_000_000
        return [
            Rollup(datetime.fromtimestamp(k, UTC), mean, n, low, high)
            for k, mean, n, low, high in gauge_stats(t, np.asarray(values, np.float64), offset)
        ]
    buckets = _Buckets(Resolution.FIVE_MIN, tz)
    acc: dict[float, list[float]] = {}
    for us, v in zip(ts_us, values, strict=True):
        b0, _ = buckets.floor(us / 1_000_000)
        row = acc.get(b0)
        if row is None:
            acc[b0] = [v, 1.0, v, v]
        else:
            row[0] += v
            row[1] += 1
            if v < row[2]:
                row[2] = v
            if v > row[3]:
                row[3] = v
    return [
        Rollup(datetime.fromtimestamp(k, UTC), r[0] / r[1], int(r[1]), r[2], r[3])
        for k, r in sorted(acc.items())
    ]


def energy_delta(
    old: Sequence[tuple[int, float]],
    merged: Sequence[tuple[int, float]],
    tz: tzinfo,
    max_gap: timedelta = DEFAULT_MAX_GAP,
) -> list[Rollup]:
    """What adding samples to a counter series changes in its 5-minute energy roll-ups.

    ``old`` are the stored samples (epoch microseconds, value) from the last one before the
    earliest new sample to the first one after the latest (as ``around`` gives them), ``merged``
    the same with the new samples in (time order, one per instant). Only rises between
    consecutive samples inside that stretch change, so the energy over the periods covering it,
    with minus without, is the delta."""
    if not merged:
        return []
    buckets = _Buckets(Resolution.FIVE_MIN, tz)
    first = min(merged[0][0], old[0][0]) if old else merged[0][0]
    last = max(merged[-1][0], old[-1][0]) if old else merged[-1][0]
    lo, _ = buckets.floor(first / 1_000_000)
    _, hi = buckets.floor(last / 1_000_000)
    gap = max_gap.total_seconds()

    offset = fixed_offset(tz, first / 1_000_000, last / 1_000_000)

    def run(samples: Sequence[tuple[int, float]]) -> tuple[dict[float, float], dict[float, int]]:
        if offset is not None:  # the common case, on arrays
            # one (n, 2) array from the pairs (epoch microseconds are exact in a float64)
            both = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
            return fast_energy(both[:, 0] / 1_000_000, both[:, 1], lo, hi, offset, gap)
        times = [us / 1_000_000 for us, _ in samples]
        return _energy(times, [v for _, v in samples], lo, hi, buckets, gap)

    wh0, n0 = run(old)
    wh1, n1 = run(merged)
    out: list[Rollup] = []
    for k in sorted(set(wh0) | set(wh1) | set(n0) | set(n1)):
        value = wh1.get(k, 0.0) - wh0.get(k, 0.0)
        samples = n1.get(k, 0) - n0.get(k, 0)
        if value != 0.0 or samples:
            out.append(Rollup(datetime.fromtimestamp(k, UTC), value, samples))
    return out


def ladder_deltas(
    five: Sequence[Rollup], tz: tzinfo, *, is_energy: bool
) -> dict[Resolution, list[Rollup]]:
    """The 5-minute deltas and the coarser deltas they make (hour, day, month)."""
    out: dict[Resolution, list[Rollup]] = {Resolution.FIVE_MIN: list(five)}
    below = out[Resolution.FIVE_MIN]
    for resolution in LADDER[1:]:
        below = combine(below, resolution, tz, is_energy=is_energy)
        out[resolution] = below
    return out


def merge(old: Rollup | None, delta: Rollup, *, is_energy: bool) -> Rollup:
    """A stored period with a delta merged in (energy and counts add; means are weighted by
    their sample counts, extremes widen). The SQL upserts of the adapters do the same."""
    if old is None:
        return delta
    if is_energy:
        return Rollup(old.start, old.value + delta.value, old.samples + delta.samples)
    n = old.samples + delta.samples
    if n <= 0:
        return old
    mean = (old.value * old.samples + delta.value * delta.samples) / n
    return Rollup(
        old.start, mean, n, _either(min, old.low, delta.low), _either(max, old.high, delta.high)
    )


def _either(
    pick: Callable[[float, float], float], a: float | None, b: float | None
) -> float | None:
    if a is None or b is None:
        return b if a is None else a
    return pick(a, b)
