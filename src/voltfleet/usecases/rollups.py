"""Keeping a series' roll-ups up to date after new readings arrived (any order, any lateness).

Works on the ``TimeSeriesStore`` port only, so unit tests run it on the in-memory fake. The
5-minute periods around the new readings are recomputed from the samples (for a counter: from the
sample before the earliest new one to the sample after the latest, since both rises changed),
then each coarser resolution from the one below it, for the periods that contain them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from voltfleet.domain.telemetry.batch import from_us, to_us
from voltfleet.domain.telemetry.points import GAUGES, Point, PointKind
from voltfleet.domain.telemetry.readings import Sample
from voltfleet.domain.telemetry.restarts import Restart, continuous
from voltfleet.domain.telemetry.rollup import LADDER, Resolution, average, combine, energy, span
from voltfleet.ports import TimeSeriesStore

_TICK = timedelta(microseconds=1)


def rolled_up(p: Point) -> bool:
    return p.kind is PointKind.ENERGY or p.kind in GAUGES


def refresh(
    store: TimeSeriesStore,
    device_id: str,
    p: Point,
    lo: datetime,
    hi: datetime,
    tz: tzinfo,
    restarts: Sequence[Restart] = (),
) -> None:
    """Recompute the roll-ups of (device, point) touched by new readings between lo and hi (or
    by a counter restart recorded or removed at lo = hi; ``restarts`` are the counter's recorded
    restarts, domain.telemetry.restarts)."""
    if not rolled_up(p):
        return
    five = Resolution.FIVE_MIN
    if p.kind is PointKind.ENERGY:
        edges = store.around(device_id, p.name, lo, hi)
        first, last = (edges[0].ts, edges[-1].ts) if edges else (lo, hi)
        start, end = span(min(first, lo), max(last, hi), five, tz)
        samples = store.around(device_id, p.name, start, end - _TICK)
        if restarts:
            pairs = continuous([(to_us(x.ts), x.value) for x in samples], restarts)
            samples = [Sample(from_us(us), v) for us, v in pairs]
        rows = energy(samples, start, end, five, tz)
    else:
        start, end = span(lo, hi, five, tz)
        rows = average(store.read(device_id, p.name, start, end), start, end, five, tz)
    store.replace_rollups(device_id, p.name, five, start, end, rows)
    below = five
    for resolution in LADDER[1:]:
        start, end = span(start, end - _TICK, resolution, tz)
        children = store.read_rollups(device_id, p.name, below, start, end)
        rows = combine(children, resolution, tz, is_energy=p.kind is PointKind.ENERGY)
        store.replace_rollups(device_id, p.name, resolution, start, end, rows)
        below = resolution
