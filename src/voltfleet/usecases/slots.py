"""Price slots and energy-by-deadline schedules over a site's tariff: the dearest or cheapest
parts of a window (by a price threshold or a duration) and when to import or export an amount of
energy. The selection and the plan are the domain's (domain.slots, domain.schedule); the prices
come from usecases.tariffs.rates. The site comes in already scope-checked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from voltfleet.domain.schedule import Schedule, ScheduleError, plan_schedule
from voltfleet.domain.slots import Segment, SlotSelection, SlotSelectionError
from voltfleet.domain.slots import threshold_slots as select_by_threshold
from voltfleet.domain.slots import time_slots as select_by_time
from voltfleet.domain.tariffs import Direction
from voltfleet.usecases.errors import Invalid, Rejected
from voltfleet.usecases.tariffs import SiteLike, TariffRepository, VersionLike, rates

V = TypeVar("V", bound=VersionLike)


def check_threshold(relative: float | None, absolute: float | None) -> None:
    """A threshold is either a share of the window's range or a price, never both."""
    if (relative is None) == (absolute is None):
        raise Invalid("give exactly one of relative (0..1) or absolute (a price per kWh)")


def threshold_slots(
    repo: TariffRepository[V],
    site: SiteLike,
    direction: str,
    start: datetime,
    end: datetime,
    segment: str,
    *,
    relative: float | None,
    absolute: float | None,
) -> tuple[SlotSelection, str]:
    """The slots in the top (HIGH) or bottom (LOW) part of the window's prices, and the prices'
    currency."""
    check_threshold(relative, absolute)
    series = rates(repo, site, direction, start, end, None)
    try:
        sel = select_by_threshold(series, Segment(segment), relative=relative, absolute=absolute)
    except SlotSelectionError as exc:
        raise Invalid(str(exc)) from exc
    return sel, series.currency


def time_slots(
    repo: TariffRepository[V],
    site: SiteLike,
    direction: str,
    start: datetime,
    end: datetime,
    segment: str,
    duration: timedelta,
    *,
    continuous: bool,
) -> tuple[SlotSelection, str]:
    """The cheapest (LOW) or dearest (HIGH) ``duration`` of the window (one block when
    ``continuous``), and the prices' currency."""
    series = rates(repo, site, direction, start, end, None)
    try:
        sel = select_by_time(series, Segment(segment), duration, continuous=continuous)
    except SlotSelectionError as exc:
        raise Invalid(str(exc)) from exc
    return sel, series.currency


def schedule(
    repo: TariffRepository[V],
    site: SiteLike,
    direction: str,
    start: datetime,
    end: datetime,
    energy_kwh: float,
    max_power_kw: float,
    *,
    continuous: bool,
) -> Schedule:
    """When to import (cheapest) or export (most lucrative) ``energy_kwh`` at most
    ``max_power_kw`` within [start, end); ``Rejected`` with the most that fits when it does not."""
    series = rates(repo, site, direction, start, end, None)
    try:
        return plan_schedule(
            series, Direction(direction), energy_kwh, max_power_kw, continuous=continuous
        )
    except ScheduleError as exc:
        raise Rejected(
            str(exc),
            [{"field": "energy_kwh", "message": str(exc), "max_fit_kwh": exc.max_fit_kwh}],
            code="does_not_fit",
        ) from exc
