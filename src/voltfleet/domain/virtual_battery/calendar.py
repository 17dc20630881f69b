"""When a virtual battery returns to zero, and the grid of intervals its ledger runs on. Pure.

The ledger runs on a regular grid of 15-minute intervals in UTC (the settlement resolution of
the grid; a DST day in the site's zone simply has 92 or 100 of them). A reset date is a date of
the site's calendar: the battery returns to 0 at local midnight that starts it, i.e. before the
flows of the interval that starts then. "Yearly" repeats it on the same day every year from that
date on (29 February falls on 28 February in other years).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

INTERVAL = timedelta(minutes=15)
INTERVAL_S = 900


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``zone``."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _on(year: int, reset_on: date) -> date:
    try:
        return reset_on.replace(year=year)
    except ValueError:  # 29 February in a year without it
        return date(year, 2, 28)


def reset_instants(
    reset_on: date | None, yearly: bool, zone: tzinfo, start: datetime, end: datetime
) -> list[datetime]:
    """The UTC instants in [start, end) at which the battery returns to zero."""
    if reset_on is None:
        return []
    if not yearly:
        r = local_midnight(reset_on, zone)
        return [r] if start <= r < end else []
    out = []
    first_year = max(reset_on.year, start.astimezone(zone).year - 1)
    for year in range(first_year, end.astimezone(zone).year + 2):
        r = local_midnight(_on(year, reset_on), zone)
        if start <= r < end:
            out.append(r)
    return out


def interval_starts(start: datetime, end: datetime) -> list[datetime]:
    """The starts of the 15-minute intervals in [start, end); ``start`` must be on the grid."""
    if not on_grid(start):
        raise ValueError("start must be on the 15-minute grid")
    n = max(0, -(-int((end - start).total_seconds()) // INTERVAL_S))
    return [start + k * INTERVAL for k in range(n)]


def on_grid(ts: datetime) -> bool:
    return int(ts.timestamp()) % INTERVAL_S == 0 and ts.microsecond == 0


def floor_to_grid(ts: datetime) -> datetime:
    s = int(ts.timestamp())
    return datetime.fromtimestamp(s - s % INTERVAL_S, UTC)


def reset_flags(
    start: datetime, n: int, reset_on: date | None, yearly: bool, zone: tzinfo
) -> list[bool]:
    """One flag per interval of the grid from ``start`` (n intervals): True where a reset falls
    inside the interval (at its start, for any zone whose midnight is on the quarter-hour grid)."""
    flags = [False] * n
    end = start + n * INTERVAL
    for r in reset_instants(reset_on, yearly, zone, start, end):
        flags[int((r - start).total_seconds()) // INTERVAL_S] = True
    return flags
