"""Small builders for domain tests: local times, slots, tariffs, hourly series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from voltfleet.domain.tariffs import (
    MonthDay,
    PriceInterval,
    RateSeries,
    TimeSlot,
    TouPeriod,
    TouTariff,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(text: str, zone: ZoneInfo = BERLIN, fold: int = 0) -> datetime:
    """An aware local datetime from ISO text (``fold=1`` for the second of a repeated hour)."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def slot(start: str, end: str, price: float) -> TimeSlot:
    return TimeSlot(time.fromisoformat(start), time.fromisoformat(end), price)


def slots(*spec: tuple[str, str, float]) -> tuple[TimeSlot, ...]:
    return tuple(slot(a, b, p) for a, b, p in spec)


def whole_year(*spec: tuple[str, str, float], currency: str = "EUR") -> TouTariff:
    """A TOU tariff with one period for the whole year."""
    return TouTariff(currency, (TouPeriod("year", MonthDay(1, 1), MonthDay(12, 31), slots(*spec)),))


def series(
    start: datetime,
    prices: Sequence[float],
    step: timedelta = timedelta(hours=1),
    currency: str = "EUR",
) -> RateSeries:
    """A rate series of equal steps from ``start`` with the given prices."""
    return RateSeries.from_intervals(
        [PriceInterval(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(prices)],
        currency,
        step,
    )


def as_local(moment: datetime, zone: ZoneInfo = BERLIN) -> str:
    """``HH:MM`` local wall time of an instant."""
    return moment.astimezone(zone).strftime("%H:%M")
