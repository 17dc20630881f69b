"""Local calendar buckets of a site (day, ISO week from Monday, month, year), DST-safe.

A bucket runs from the first instant of its first local date to the first instant of the
next bucket's first date, clipped to the window; a local day is 23, 24 or 25 hours long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from voltfleet.domain.tariffs.local_time import as_zone, local_date, local_midnight_us
from voltfleet.domain.tariffs.series import from_us, to_us


class Aggregation(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


@dataclass(frozen=True, slots=True)
class Bucket:
    """``[start, end)`` in UTC (clipped to the window), the local ``first_day`` of the
    calendar bucket and its ``label`` (``2024-03-31``, ``2024-W13``, ``2024-03``, ``2024``)."""

    start: datetime
    end: datetime
    first_day: date
    label: str


def _first_day(day: date, aggregation: Aggregation) -> date:
    if aggregation is Aggregation.DAY:
        return day
    if aggregation is Aggregation.WEEK:
        return day - timedelta(days=day.weekday())
    if aggregation is Aggregation.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _next_first_day(day: date, aggregation: Aggregation) -> date:
    if aggregation is Aggregation.DAY:
        return day + timedelta(days=1)
    if aggregation is Aggregation.WEEK:
        return day + timedelta(days=7)
    if aggregation is Aggregation.MONTH:
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date(day.year + 1, 1, 1)


def _label(day: date, aggregation: Aggregation) -> str:
    if aggregation is Aggregation.DAY:
        return day.isoformat()
    if aggregation is Aggregation.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if aggregation is Aggregation.MONTH:
        return f"{day.year}-{day.month:02d}"
    return str(day.year)


def bucket_edges_us(
    zone: ZoneInfo, start_us: int, end_us: int, aggregation: Aggregation
) -> tuple[list[int], list[date]]:
    """Bucket edges (len = buckets + 1, first = start, last = end) and first local days."""
    if end_us <= start_us:
        raise ValueError("window end must be after its start")
    day = _first_day(local_date(zone, start_us), aggregation)
    edges = [start_us]
    days = [day]
    while True:
        day = _next_first_day(day, aggregation)
        edge = local_midnight_us(zone, day)
        if edge >= end_us:
            break
        edges.append(edge)
        days.append(day)
    edges.append(end_us)
    return edges, days


def local_buckets(
    zone: str | ZoneInfo, start: datetime, end: datetime, aggregation: Aggregation
) -> tuple[Bucket, ...]:
    """The calendar buckets covering ``[start, end)`` in the site's zone."""
    edges, days = bucket_edges_us(as_zone(zone), to_us(start), to_us(end), aggregation)
    return tuple(
        Bucket(from_us(edges[i]), from_us(edges[i + 1]), days[i], _label(days[i], aggregation))
        for i in range(len(days))
    )


def bucket_label(day: date, aggregation: Aggregation) -> str:
    return _label(day, aggregation)
