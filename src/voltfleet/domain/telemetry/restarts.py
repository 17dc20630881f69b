"""Recorded restarts of energy counters: a replaced meter, a firmware reset. Pure.

A counter (a device's energy data point, Wh, monotonic) that restarts is not an error but an
event an O&M engineer records: (instant ``R``, start value ``s``). ``s`` is what the counter read
when it restarted: 0 for a counter that restarted from zero (a firmware reset, a new meter with
an empty register), the new meter's first register reading when it did not (a replacement meter
that was used before, or an inverter sold with a preloaded yield). The restarts of a counter cut
its series into *segments*: a sample at instant ``t`` belongs to the segment of the latest restart
at or before ``t`` (the one before the first restart has no start value).

Two rules follow, and this module is their definition:

* **Checking** (``check_counter_us``): a reading is judged only against the stored samples of its
  own segment (the monotonic check of ``validate.check_counter_us`` starts again at each
  restart), and must not be below its restart's start value.
* **Energy** (``continuous``): the rise from the last sample before a restart to the first one at
  or after it is the new value minus the start value, ``v - s`` (so ``v`` for a restart from zero:
  the energy since it restarted). It is never negative and never the old value, whether ``v`` is
  below or *above* the old counter's last value: a replacement meter that starts at 5 MWh next to
  an old one at 3 MWh made ``v - 5 MWh``, not ``v - 3 MWh``. When ``v < s`` (the counter went
  below its recorded start, an unrecorded reset after the restart) the usual reset rule of
  ``rollup`` applies: ``v``. The energy the old counter counted between its last reported sample
  and its removal was never reported and is not invented. With several restarts between two
  samples the latest one counts. The rise is spread over the time between the two samples like
  any other (``rollup._energy``), or booked where the gap ends when they are more than the gap
  apart.

``continuous`` turns a sample list into one whose values ``rollup.energy`` / ``energy_delta``
book with exactly these rises (its reset rule sees a monotonic series), so the roll-up code and
its fast paths stay as they are; with no restart inside the list it returns the list itself and
costs nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from voltfleet.domain.telemetry import validate
from voltfleet.domain.telemetry.validate import Reason, Rejection


@dataclass(frozen=True, order=True)
class Restart:
    """A counter restarted at ``at_us`` (epoch microseconds) from ``start_wh``."""

    at_us: int
    start_wh: float = 0.0


def _sorted(restarts: Sequence[Restart]) -> list[Restart]:
    """Time order, one per instant (the first given wins an instant)."""
    out: dict[int, Restart] = {}
    for r in restarts:
        out.setdefault(r.at_us, r)
    return [out[k] for k in sorted(out)]


def segment_of(ts_us: int, instants: Sequence[int]) -> int:
    """The segment of an instant: the index of the latest restart at or before it in the sorted
    ``instants``, -1 before the first."""
    return bisect.bisect_right(instants, ts_us) - 1


def check_counter_us(
    point: str,
    new: Sequence[tuple[int, int, float]],
    stored: Sequence[tuple[int, float]],
    restarts: Sequence[Restart] = (),
) -> tuple[list[int], list[Rejection]]:
    """``validate.check_counter_us`` with the counter's recorded restarts: each segment is checked
    on its own, and a new reading below its restart's start value is refused (COUNTER_RESET).

    ``new`` is (batch index, instant, value) in time order, one per instant; ``stored`` the stored
    (instant, value) around them (time order); ``restarts`` the counter's restarts (any order;
    those outside the stretch change nothing). Returns the positions in ``new`` that are accepted
    (duplicates of stored instants included, not judged), in order, and the refusals."""
    if not restarts:
        return validate.check_counter_us(point, new, stored)
    ordered = _sorted(restarts)
    instants = [r.at_us for r in ordered]
    new_by: dict[int, list[int]] = {}
    for k, (_, us, _) in enumerate(new):
        new_by.setdefault(segment_of(us, instants), []).append(k)
    stored_by: dict[int, list[tuple[int, float]]] = {}
    for sample in stored:
        stored_by.setdefault(segment_of(sample[0], instants), []).append(sample)
    accepted: list[int] = []
    rejected: list[Rejection] = []
    for seg, positions in new_by.items():
        mine = stored_by.get(seg, [])
        if seg >= 0 and ordered[seg].start_wh > 0:
            start = ordered[seg]
            at_stored = {us for us, _ in mine}
            kept = []
            for k in positions:
                index, us, value = new[k]
                if value < start.start_wh and us not in at_stored:
                    detail = (
                        f"{point} = {value} at {_iso(us)} is below {start.start_wh}, the value "
                        f"it restarted from at {_iso(start.at_us)}"
                    )
                    rejected.append(Rejection(index, Reason.COUNTER_RESET, detail))
                else:
                    kept.append(k)
            positions = kept
        ok, bad = validate.check_counter_us(point, [new[k] for k in positions], mine)
        accepted.extend(positions[j] for j in ok)
        rejected.extend(bad)
    accepted.sort()
    rejected.sort(key=lambda r: r.index)
    return accepted, rejected


def continuous(
    samples: Sequence[tuple[int, float]], restarts: Sequence[Restart]
) -> Sequence[tuple[int, float]]:
    """Counter samples (instant in epoch microseconds, value; time order) with their values made
    such that ``rollup``'s rise rule (``v - prev``, or ``v`` after a drop) gives the rises of this
    module's docstring. Samples before the first restart inside the list keep their values; from
    there on each value is the previous one plus the rise, so the series is monotonic and its
    rises are exactly those rules'. Returns ``samples`` itself when no restart falls between its
    first and last sample."""
    if len(samples) < 2 or not restarts:
        return samples
    first, last = samples[0][0], samples[-1][0]
    inside = [r for r in _sorted(restarts) if first < r.at_us <= last]
    if not inside:
        return samples
    instants = [r.at_us for r in inside]
    out: list[tuple[int, float]] = []
    prev_us, prev_v = samples[0]
    level = prev_v
    out.append(samples[0])
    started = False
    for us, v in samples[1:]:
        k = segment_of(us, instants)
        restarted = k >= 0 and inside[k].at_us > prev_us  # a restart in (prev, this]
        base = inside[k].start_wh if restarted else prev_v
        rise = v - base if v >= base else v
        started = started or restarted
        if started:
            level += rise
            out.append((us, level))
        else:
            level = v
            out.append((us, v))
        prev_us, prev_v = us, v
    return out


def energy_across(prev: float, value: float, restart: Restart | None) -> float:
    """The rise between two consecutive samples of a counter, with the latest restart between them
    (None: no restart): the definition ``continuous`` follows, for a reader and for tests."""
    base = restart.start_wh if restart is not None else prev
    return value - base if value >= base else value


def _iso(us: int) -> str:
    ts = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    return ts.isoformat().replace("+00:00", "Z")
