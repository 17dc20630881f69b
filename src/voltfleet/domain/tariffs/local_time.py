"""Local time of a site: UTC offset segments and local midnights, DST-safe.

Instants are microseconds since the epoch (UTC). A "local day index" is the number of days
since 1970-01-01 on the local calendar.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from voltfleet.domain.tariffs.series import from_us, to_us

_SCAN_STEP_US = 6 * 3_600_000_000
_SECOND_US = 1_000_000
EPOCH_DATE = date(1970, 1, 1)


def as_zone(zone: str | ZoneInfo) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name (or the zone itself)."""
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def offset_us(zone: ZoneInfo, instant_us: int) -> int:
    """UTC offset (local - UTC) in microseconds at an instant."""
    offset = from_us(instant_us).astimezone(zone).utcoffset()
    assert offset is not None
    return offset // timedelta(microseconds=1)


def offset_segments(zone: ZoneInfo, start_us: int, end_us: int) -> list[tuple[int, int, int]]:
    """Split ``[start, end)`` where the UTC offset changes: ``(start, end, offset)`` each.

    Offsets are sampled every 6 h and transitions located to the second by bisection
    (zone transitions happen on whole seconds). Two transitions within 6 h that return to
    the same offset would be missed; no IANA zone has them.
    """
    segments: list[tuple[int, int, int]] = []
    seg_start = start_us
    current = offset_us(zone, start_us)
    probe = start_us
    while probe < end_us - 1:
        nxt = min(probe + _SCAN_STEP_US, end_us - 1)
        offset = offset_us(zone, nxt)
        if offset != current:
            lo = probe // _SECOND_US  # offset(lo) == current
            hi = -(-nxt // _SECOND_US)  # offset(hi) != current
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_us(zone, mid * _SECOND_US) == current:
                    lo = mid
                else:
                    hi = mid
            transition = max(hi * _SECOND_US, seg_start + 1)
            segments.append((seg_start, transition, current))
            seg_start = transition
            current = offset_us(zone, transition)
            probe = transition
        else:
            probe = nxt
    segments.append((seg_start, end_us, current))
    return segments


def local_date(zone: ZoneInfo, instant_us: int) -> date:
    """The local calendar date of an instant."""
    return from_us(instant_us).astimezone(zone).date()


def local_midnight_us(zone: ZoneInfo, day: date) -> int:
    """First instant of a local date (if midnight does not exist, the moment clocks jump)."""
    if day <= date.min + timedelta(days=2):
        return -(2**62)
    if day >= date.max - timedelta(days=2):
        return 2**62
    return to_us(datetime.combine(day, time(0), tzinfo=zone))


def day_index(day: date) -> int:
    return (day - EPOCH_DATE).days


def date_of_index(index: int) -> date:
    return EPOCH_DATE + timedelta(days=index)
