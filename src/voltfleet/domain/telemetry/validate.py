"""Checking readings before they are stored. Pure: the clock and the stored neighbours come in.

A reading that fails a check is not stored but *quarantined* with its reason (never silently
dropped): unknown data point, wrong unit, NaN or infinity, a value outside the point's plausible
range, a timestamp without a time zone, too far in the future (clock skew beyond
``Limits.future``) or older than the late window (``Limits.late_window``, default 30 days),
a negative energy counter, or a counter going backwards (a reset or a glitch; a restart O&M
recorded starts the check again there: domain.telemetry.restarts).

Readings that are late but inside the window are normal (gateways back-fill after an outage) and
are accepted; their roll-ups are recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np

from voltfleet.domain.telemetry.points import CATALOGUE, Point
from voltfleet.domain.telemetry.readings import Reading, Sample


class Reason(StrEnum):
    UNKNOWN_DEVICE = "unknown_device"
    FOREIGN_DEVICE = "foreign_device"  # a device that is not below the sending gateway
    UNKNOWN_POINT = "unknown_point"
    WRONG_UNIT = "wrong_unit"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    BAD_TIMESTAMP = "bad_timestamp"
    NAIVE_TIMESTAMP = "naive_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_OLD = "too_old"
    NEGATIVE_COUNTER = "negative_counter"
    COUNTER_RESET = "counter_reset"


@dataclass(frozen=True)
class Limits:
    """How far a reading's timestamp may stray from the receiving clock."""

    future: timedelta = timedelta(minutes=5)
    late_window: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class RawReading:
    """A reading as received, its device already resolved from the sender's credential."""

    index: int  # position in the received batch, for the answer
    device_id: str
    point: str
    ts: datetime
    value: float
    unit: str


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: Reason
    detail: str


def check(
    raw: RawReading,
    now: datetime,
    limits: Limits = Limits(),
    catalogue: Mapping[str, Point] = CATALOGUE,
) -> Reading | Rejection:
    """The checks that need nothing but the reading itself and the clock."""
    p = catalogue.get(raw.point)
    if p is None:
        return Rejection(raw.index, Reason.UNKNOWN_POINT, f"unknown data point '{raw.point}'")
    value = p.to_canonical(raw.value, raw.unit)
    if value is None:
        units = ", ".join(p.units)
        return Rejection(raw.index, Reason.WRONG_UNIT, f"{p.name} is in {units}, not '{raw.unit}'")
    if not math.isfinite(value):
        return Rejection(raw.index, Reason.NOT_A_NUMBER, f"{p.name} is {raw.value}")
    ts = raw.ts
    if ts.tzinfo is None or ts.utcoffset() is None:
        return Rejection(raw.index, Reason.NAIVE_TIMESTAMP, "timestamp without a time zone")
    if ts - now > limits.future:
        return Rejection(
            raw.index,
            Reason.FUTURE_TIMESTAMP,
            f"timestamp {_iso(ts)} is more than {_span(limits.future)} ahead of {_iso(now)}",
        )
    if now - ts > limits.late_window:
        return Rejection(
            raw.index,
            Reason.TOO_OLD,
            f"timestamp {_iso(ts)} is older than the late window of {_span(limits.late_window)}",
        )
    if p.counter and value < 0:
        return Rejection(raw.index, Reason.NEGATIVE_COUNTER, f"{p.name} is negative: {value}")
    if not p.low <= value <= p.high:
        return Rejection(
            raw.index, Reason.OUT_OF_RANGE, f"{p.name} = {value} {p.unit} outside {p.low}..{p.high}"
        )
    return Reading(raw.device_id, p.name, ts.astimezone(UTC), value)


def check_counter(
    new: Sequence[tuple[int, Reading]],
    stored: Iterable[Sample],
) -> tuple[list[tuple[int, Reading]], list[Rejection]]:
    """Monotonic check of one energy counter series.

    ``new`` are this batch's readings of the series (index in batch, reading), ``stored`` the
    samples already stored around them (at least the last one before the earliest new reading and
    the first one after the latest, plus those in between). A new reading must be >= every value
    before it and <= every stored value after it; one that is not goes to quarantine as a counter
    reset. A reading at the instant of a stored sample is a duplicate: not checked here (it is
    stored once, whatever its value). Returns (accepted, rejected), accepted in time order.
    """
    stored_at = {s.ts: s.value for s in stored}
    events: list[tuple[datetime, int, float, int]] = [(ts, 0, v, -1) for ts, v in stored_at.items()]
    for order, (_, r) in enumerate(new):
        events.append((r.ts, 1, r.value, order))
    events.sort(key=lambda e: (e[0], e[1], e[3]))
    # The lowest stored value at or after each position (what a new reading must not exceed).
    ceiling = [math.inf] * (len(events) + 1)
    for i in range(len(events) - 1, -1, -1):
        ts, is_new, value, _ = events[i]
        ceiling[i] = min(ceiling[i + 1], value) if not is_new else ceiling[i + 1]
    accepted: list[tuple[int, Reading]] = []
    rejected: list[Rejection] = []
    floor = -math.inf
    floor_ts: datetime | None = None
    seen: set[datetime] = set()
    for i, (ts, is_new, value, order) in enumerate(events):
        if not is_new:
            floor, floor_ts = max(floor, value), ts
            continue
        index, reading = new[order]
        if ts in stored_at or ts in seen:
            accepted.append((index, reading))  # a duplicate: dropped on write, not judged
            continue
        if value < floor:
            rejected.append(
                Rejection(
                    index,
                    Reason.COUNTER_RESET,
                    f"{reading.point} went backwards: {value} after {floor}"
                    + (f" at {_iso(floor_ts)}" if floor_ts else ""),
                )
            )
            continue
        if value > ceiling[i + 1]:
            rejected.append(
                Rejection(
                    index,
                    Reason.COUNTER_RESET,
                    f"{reading.point} = {value} at {_iso(ts)} is above the later stored value "
                    f"{ceiling[i + 1]}",
                )
            )
            continue
        seen.add(ts)
        floor, floor_ts = value, ts
        accepted.append((index, reading))
    return accepted, rejected


def check_counter_us(
    point: str,
    new: Sequence[tuple[int, int, float]],
    stored: Sequence[tuple[int, float]],
) -> tuple[list[int], list[Rejection]]:
    """``check_counter`` on epoch microseconds, for the ingest fast path (a property test proves
    they agree). ``new`` is (batch index, instant, value) in time order, one per instant;
    ``stored`` the stored (instant, value) around them. Returns the positions in ``new`` that
    are accepted (duplicates of stored instants included) and the refusals."""
    if len(new) >= RISING_MIN:
        _, new_us, new_values = zip(*new, strict=True)
        if rising_us(new_us, new_values, stored):
            return list(range(len(new))), []
    stored_at = dict(stored)
    events: list[tuple[int, int, float, int]] = [(us, 0, v, -1) for us, v in stored_at.items()]
    events.extend((us, 1, v, k) for k, (_, us, v) in enumerate(new))
    events.sort()
    ceiling = [math.inf] * (len(events) + 1)
    for i in range(len(events) - 1, -1, -1):
        _, is_new, value, _ = events[i]
        ceiling[i] = ceiling[i + 1] if is_new else min(ceiling[i + 1], value)
    accepted: list[int] = []
    rejected: list[Rejection] = []
    floor = -math.inf
    floor_us: int | None = None
    for i, (us, is_new, value, k) in enumerate(events):
        if not is_new:
            floor, floor_us = max(floor, value), us
            continue
        index = new[k][0]
        if us in stored_at:
            accepted.append(k)  # a duplicate: dropped on write, not judged
        elif value < floor:
            at = f" at {_iso(_from_us(floor_us))}" if floor_us is not None else ""
            detail = f"{point} went backwards: {value} after {floor}{at}"
            rejected.append(Rejection(index, Reason.COUNTER_RESET, detail))
        elif value > ceiling[i + 1]:
            detail = (
                f"{point} = {value} at {_iso(_from_us(us))} is above the later stored value "
                f"{ceiling[i + 1]}"
            )
            rejected.append(Rejection(index, Reason.COUNTER_RESET, detail))
        else:
            floor, floor_us = value, us
            accepted.append(k)
    accepted.sort()
    return accepted, rejected


# From this many new readings on, ``check_counter_us`` first tries ``rising_us`` on arrays (a
# gateway's batch holds hundreds of readings per counter; a charger's meter values a few).
RISING_MIN = 64


def rising_us(
    new_us: Sequence[int], new_values: Sequence[float], stored: Sequence[tuple[int, float]]
) -> bool:
    """True when a counter never falls over its stored readings (instant, value) and its new ones
    (``new_us``, ``new_values``: time order, one per instant) together, a new reading at a
    stored instant left out (the loop of ``check_counter_us`` leaves it unjudged): then every new
    reading is at least the one before it and at most every later stored one, so
    ``check_counter_us`` accepts all of them. False when anything is unusual (a fall, instants
    out of order or repeated): its loop decides."""
    t = np.array(new_us, dtype=np.int64)
    v = np.array(new_values, dtype=np.float64)
    if not bool(np.all(t[1:] > t[:-1])):
        return False
    if stored:
        stored_us, stored_values = zip(*stored, strict=True)
        st = np.array(stored_us, dtype=np.int64)
        if not bool(np.all(st[1:] > st[:-1])):
            return False
        fresh = ~np.isin(t, st)
        t = np.concatenate((st, t[fresh]))
        v = np.concatenate((np.array(stored_values, dtype=np.float64), v[fresh]))[
            np.argsort(t, kind="stable")
        ]
    return bool(np.all(v[1:] >= v[:-1]))


def _from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _span(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} days"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
