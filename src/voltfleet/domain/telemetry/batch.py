"""Checking a received batch one *series* at a time: the fast path of ingest. Pure.

``validate.check`` judges one reading and is the definition of what is acceptable; this module
applies exactly the same rules (same reasons, same order, same messages) to all readings of one
(device, data point, unit) group at once, with the catalogue lookup and unit factor done once per
group and instants as integer microseconds since the epoch, because ingest handles 10^5 readings a
second and a function call plus two objects per reading is most of that budget. A property test
(tests/unit/telemetry/test_batch.py) proves it agrees with ``check`` reading by reading.

Readings of the group with the same instant are repeats: the first one wins (a stored value wins
over both, later, when the store is asked).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from voltfleet.domain.instants import InstantError, check_instant, read_instant
from voltfleet.domain.telemetry.points import CATALOGUE, Point
from voltfleet.domain.telemetry.validate import Limits, Reason, Rejection, _iso, _span

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_INF = math.inf
# From this many readings on, a group is first tried on arrays (``_whole_group``): numpy's fixed
# cost per call is then below what the per-reading loop costs (a gateway's batch holds hundreds
# of readings per series; an MQTT message or a charger's meter values a handful).
WHOLE_GROUP_MIN = 64


def to_us(ts: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (exact)."""
    return (ts - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@dataclass
class Series:
    """The acceptable readings of one series in a batch, in time order, one per instant."""

    device_id: str
    point: Point
    ts_us: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)  # position of each in the batch
    repeats: int = 0  # readings dropped because an earlier one of the batch had their instant


@dataclass(frozen=True)
class Refused:
    """A reading that failed a check, with its instant when it had a usable one."""

    rejection: Rejection
    ts: datetime | None


def _number(raw: object) -> float | None:
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            return None
    return None


def check_group(
    device_id: str,
    point_name: str,
    unit: str,
    items: Sequence[tuple[int, str | datetime, object]],
    now: datetime,
    limits: Limits = Limits(),
    catalogue: Mapping[str, Point] = CATALOGUE,
    parsed: dict[str | datetime, int] | None = None,
) -> tuple[Series | None, list[Refused]]:
    """Check the readings ``(batch index, timestamp text or instant, value)`` of one device,
    data point and unit. Returns the series of acceptable ones (None when the point is unknown)
    and the refused ones with their reasons, in the order ``validate.check`` would give.

    ``parsed`` (timestamp text -> epoch microseconds of an aware timestamp) is a cache the caller
    may share between the groups of a batch: a gateway reports all its points at the same
    instants, so a batch holds each timestamp text many times, and a dictionary lookup costs a
    tenth of parsing it again."""
    p = catalogue.get(point_name)
    refused: list[Refused] = []
    # What check() says for every reading when the point or the unit is wrong.
    group_reason: tuple[Reason, str] | None = None
    factor = 1.0
    if p is None:
        group_reason = (Reason.UNKNOWN_POINT, f"unknown data point '{point_name}'")
    else:
        f = p.units.get(unit)
        if f is None:
            group_reason = (Reason.WRONG_UNIT, f"{p.name} is in {', '.join(p.units)}, not '{unit}'")
        else:
            factor = f
    series = Series(device_id, p) if p is not None and group_reason is None else None
    now_us = to_us(now)
    future_us = limits.future // _US
    late_us = limits.late_window // _US
    low, high = (p.low, p.high) if p is not None else (-_INF, _INF)
    counter = p is not None and p.counter
    name = p.name if p is not None else point_name
    seen: dict[int, None] = {}
    ts_us: list[int] = []
    values: list[float] = []
    indexes: list[int] = []
    fromiso = datetime.fromisoformat
    floor_value = 0.0 if counter else low  # a counter is never negative
    earliest, latest = now_us - late_us, now_us + future_us
    cache: dict[str | datetime, int] = {} if parsed is None else parsed
    if (
        series is not None
        and len(items) >= WHOLE_GROUP_MIN
        and _whole_group(series, items, factor, floor_value, high, earliest, latest, cache)
    ):
        return series, refused
    cached = cache.get
    for index, ts_text, raw in items:
        # The happy path in as few operations as possible; anything unusual goes to _judge,
        # which gives check()'s reasons in check()'s order.
        us = cached(ts_text)
        if us is None:
            # Text is read with the bare parser: the time window below is far narrower than
            # the supported range of domain.instants, and whatever leaves the happy path is
            # judged (and worded) by _judge with the full parser.
            try:
                ts = check_instant(ts_text) if isinstance(ts_text, datetime) else fromiso(ts_text)
                us = (ts - EPOCH) // _US  # TypeError for a naive timestamp
            except (ValueError, TypeError, OverflowError):  # also InstantError (a ValueError)
                refused.append(_judge(index, ts_text, raw, group_reason, factor, p, name, unit,
                                      now, limits))  # fmt: skip
                continue
            cache[ts_text] = us
        value = (raw if type(raw) is float else _number(raw)) if group_reason is None else None
        if value is not None:
            value *= factor
        if (
            value is None
            or not floor_value <= value <= high
            or value == _INF
            or value == -_INF
            or not earliest <= us <= latest
        ):
            refused.append(_judge(index, ts_text, raw, group_reason, factor, p, name, unit, now,
                                  limits))  # fmt: skip
            continue
        if us in seen:
            if series is not None:
                series.repeats += 1
            continue
        seen[us] = None
        ts_us.append(us)
        values.append(value)
        indexes.append(index)
    if series is None:
        return None, refused
    if any(ts_us[k] > ts_us[k + 1] for k in range(len(ts_us) - 1)):
        order = sorted(range(len(ts_us)), key=ts_us.__getitem__)
        ts_us = [ts_us[k] for k in order]
        values = [values[k] for k in order]
        indexes = [indexes[k] for k in order]
    series.ts_us, series.values, series.indexes = ts_us, values, indexes
    return series, refused


def _whole_group(
    series: Series,
    items: Sequence[tuple[int, str | datetime, object]],
    factor: float,
    floor_value: float,
    high: float,
    earliest: int,
    latest: int,
    cache: dict[str | datetime, int],
) -> bool:
    """The happy path of ``check_group`` for a whole group at once, on arrays: when every reading
    has a readable aware instant inside the window and a float value inside the point's range,
    fill ``series`` (time order, the first reading of an instant wins, the others counted as
    repeats) and return True. Otherwise return False with ``series`` untouched (only ``cache``
    may have learnt instants), and the loop judges reading by reading."""
    indexes, stamps, raws = zip(*items, strict=True)
    if set(map(type, raws)) != {float}:  # text, integers, None, booleans: the loop's cases
        return False
    found = list(map(cache.get, stamps))
    if None in found:
        fromiso = datetime.fromisoformat
        for k in [k for k, us in enumerate(found) if us is None]:
            ts_text = stamps[k]
            us = cache.get(ts_text)
            if us is None:
                try:
                    ts = (
                        check_instant(ts_text)
                        if isinstance(ts_text, datetime)
                        else fromiso(ts_text)
                    )
                    us = (ts - EPOCH) // _US  # TypeError for a naive timestamp
                except (ValueError, TypeError, OverflowError):
                    return False
                cache[ts_text] = us
            found[k] = us
    t = np.array(found, dtype=np.int64)
    v = np.array(raws, dtype=np.float64)
    if factor != 1.0:
        with np.errstate(over="ignore"):  # an overflow is an infinity, refused below
            v = v * factor
    if not (
        earliest <= int(t.min())
        and int(t.max()) <= latest
        and bool(np.all((v >= floor_value) & (v <= high) & np.isfinite(v)))
    ):
        return False
    order = np.argsort(t, kind="stable")  # stable: of equal instants, the earliest in the batch
    ordered = t[order]
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    pick = order[first]
    series.ts_us = ordered[first].tolist()
    series.values = v[pick].tolist()
    series.indexes = np.array(indexes, dtype=np.int64)[pick].tolist()
    series.repeats += len(items) - len(pick)
    return True


def join(a: Series, b: Series) -> Series:
    """One series from two groups of the same device and point (sent under two units, or the
    device named by serial and by id): time order, the reading earlier in the batch wins an
    instant."""
    rows = sorted(zip(a.ts_us + b.ts_us, a.indexes + b.indexes, a.values + b.values, strict=True))
    out = Series(a.device_id, a.point, repeats=a.repeats + b.repeats)
    for us, index, value in rows:
        if out.ts_us and out.ts_us[-1] == us:
            out.repeats += 1
            continue
        out.ts_us.append(us)
        out.indexes.append(index)
        out.values.append(value)
    return out


def _judge(
    index: int,
    ts_text: str | datetime,
    raw: object,
    group_reason: tuple[Reason, str] | None,
    factor: float,
    p: Point | None,
    name: str,
    unit: str,
    now: datetime,
    limits: Limits,
) -> Refused:
    """Why a reading that left ``check_group``'s happy path is refused, in ``check``'s order."""
    try:
        ts = check_instant(ts_text) if isinstance(ts_text, datetime) else read_instant(ts_text)
    except InstantError as exc:
        return Refused(Rejection(index, Reason.BAD_TIMESTAMP, str(exc)), None)
    aware = ts if ts.utcoffset() is not None else None
    value = raw if type(raw) is float else _number(raw)
    if value is None:
        return Refused(Rejection(index, Reason.NOT_A_NUMBER, f"'{raw}' is not a number"), aware)
    if group_reason is not None or p is None:
        assert group_reason is not None
        return Refused(Rejection(index, *group_reason), aware)
    value *= factor
    if value != value or value == _INF or value == -_INF:
        return Refused(Rejection(index, Reason.NOT_A_NUMBER, f"{name} is {raw}"), aware)
    if aware is None:
        why = (Reason.NAIVE_TIMESTAMP, "timestamp without a time zone")
        return Refused(Rejection(index, *why), None)
    if ts - now > limits.future:
        detail = f"timestamp {_iso(ts)} is more than {_span(limits.future)} ahead of {_iso(now)}"
        return Refused(Rejection(index, Reason.FUTURE_TIMESTAMP, detail), aware)
    if now - ts > limits.late_window:
        detail = (
            f"timestamp {_iso(ts)} is older than the late window of {_span(limits.late_window)}"
        )
        return Refused(Rejection(index, Reason.TOO_OLD, detail), aware)
    if p.counter and value < 0:
        return Refused(Rejection(index, Reason.NEGATIVE_COUNTER, f"{name} is negative: {value}"),
                       aware)  # fmt: skip
    detail = f"{name} = {value} {p.unit} outside {p.low}..{p.high}"
    return Refused(Rejection(index, Reason.OUT_OF_RANGE, detail), aware)
