"""Default departures: what a session's car usually needs, when nobody has said.

An RFID card (id tag) may carry its driver's usual departure, "leaves at 07:30, needs 20 kWh";
a connector may carry one for the sessions whose card has none. When a session starts, the
card's default, else the connector's, becomes its departure: the next such time of day on the
site's clock after the start. The car's own NotifyEVChargingNeeds, or a person, overrides it.

Pure: local times of day with an IANA zone in, UTC instants out. DST: a departure on the day
clocks change is still that time of day on the wall (07:30 CEST after a 07:30 CET); a time that
does not exist that night (02:30 when clocks jump from 02:00 to 03:00) is the instant the wall
clock would have shown it, one hour later than the jump (03:30 CEST); a time that happens twice
(02:30 when clocks go back) is its first occurrence after the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

MAX_ENERGY_WH = 500_000.0
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DepartureDefault:
    """A usual departure: a time of day on the site's clock and the energy the car wants by
    then (Wh, the session's total)."""

    at: time
    energy_need_wh: float

    def __post_init__(self) -> None:
        if not 0 < self.energy_need_wh <= MAX_ENERGY_WH:
            raise ValueError("the energy need is more than 0 and at most 500 kWh")
        if self.at.tzinfo is not None:
            raise ValueError("a default departure is a time of day on the site's clock")


def parse_time_of_day(text: str) -> time:
    """``"07:30"`` (24 h, minutes) as a time of day; ValueError with the reason otherwise."""
    found = _HHMM.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(found.group(1)), int(found.group(2)))


def next_departure(start: datetime, at: time, zone: tzinfo) -> datetime:
    """The first instant after ``start`` (aware) at which the wall clock of ``zone`` shows
    ``at``, in UTC (see the module's note on DST)."""
    if start.tzinfo is None:
        raise ValueError("the start is an aware instant")
    start_utc = start.astimezone(UTC)
    day = start_utc.astimezone(zone).date()
    for _ in range(3):
        for fold in (0, 1):  # an ambiguous time: both occurrences, the first one first
            candidate = datetime.combine(day, at, tzinfo=zone).replace(fold=fold)
            # compared in UTC: aware datetimes sharing a tzinfo compare by wall time
            at_utc = candidate.astimezone(UTC)
            if at_utc > start_utc:
                return at_utc
        day += timedelta(days=1)
    raise AssertionError("unreachable: a time of day recurs within two days")  # pragma: no cover


@dataclass(frozen=True)
class Chosen:
    """The default a session starts with and where it came from (``tag`` or ``connector``)."""

    source: str
    departure_at: datetime
    energy_need_wh: float


def choose(
    start: datetime,
    zone: tzinfo,
    tag: DepartureDefault | None,
    connector: DepartureDefault | None,
) -> Chosen | None:
    """The card's default, else the connector's, as the departure of a session started at
    ``start``; None when neither has one."""
    for source, found in (("tag", tag), ("connector", connector)):
        if found is not None:
            return Chosen(source, next_departure(start, found.at, zone), found.energy_need_wh)
    return None
