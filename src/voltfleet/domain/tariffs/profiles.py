"""Validated time-of-use tariffs compiled into day profiles for fast lookup by local date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from voltfleet.domain.tariffs.calendar import (
    DAY_US,
    LEAP_YEAR_DAYS,
    date_day_of_year,
    period_span_days,
    slot_span_us,
)
from voltfleet.domain.tariffs.holidays_calendar import public_holidays
from voltfleet.domain.tariffs.model import TimeSlot, TouTariff, TouWeekTariff


@dataclass(frozen=True, slots=True)
class DayProfile:
    """Prices of one local day: ``prices[i]`` from ``boundaries_us[i]`` (microseconds of the
    local day, first is 0) to the next boundary (or the end of the day)."""

    boundaries_us: tuple[int, ...]
    prices: tuple[float, ...]


def compile_slots(slots: Sequence[TimeSlot]) -> DayProfile:
    """A day profile from a valid slot list (wrapping slots split at midnight)."""
    pieces: list[tuple[int, float]] = []
    for slot in slots:
        start, length = slot_span_us(slot)
        pieces.append((start, slot.price_per_kwh))
        if start + length > DAY_US and start != 0:
            pieces.append((0, slot.price_per_kwh))
    pieces.sort(key=lambda p: p[0])
    boundaries: list[int] = []
    prices: list[float] = []
    for start, price in pieces:
        if prices and prices[-1] == price:
            continue
        boundaries.append(start)
        prices.append(price)
    if not boundaries or boundaries[0] != 0:
        raise ValueError("slot list does not start at midnight; validate the tariff first")
    return DayProfile(tuple(boundaries), tuple(prices))


def _period_table(spans: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Index of the period for each leap-calendar day of year (position 0 unused)."""
    table = [-1] * (LEAP_YEAR_DAYS + 1)
    for index, (first, length) in enumerate(spans):
        for offset in range(length):
            table[(first - 1 + offset) % LEAP_YEAR_DAYS + 1] = index
    if -1 in table[1:]:
        raise ValueError("date periods do not cover the year; validate the tariff first")
    return tuple(table)


class TouProfiles:
    """Day profile by local date for a validated ``TouTariff``."""

    __slots__ = ("_profiles", "_table")

    def __init__(self, tariff: TouTariff) -> None:
        self._table = _period_table([period_span_days(p.start, p.end) for p in tariff.periods])
        self._profiles = tuple(compile_slots(p.slots) for p in tariff.periods)

    def profile(self, day: date) -> DayProfile:
        return self._profiles[self._table[date_day_of_year(day)]]


class TouWeekProfiles:
    """Day profile by local date for a validated ``TouWeekTariff`` (holidays as weekend)."""

    __slots__ = ("_country", "_profiles", "_subdivision", "_table", "_weekend_days")

    def __init__(self, tariff: TouWeekTariff) -> None:
        self._table = _period_table([period_span_days(p.start, p.end) for p in tariff.periods])
        self._profiles = tuple(
            (compile_slots(p.weekday_slots), compile_slots(p.weekend_slots)) for p in tariff.periods
        )
        self._weekend_days = tariff.weekend_days
        self._country = tariff.holiday_country
        self._subdivision = tariff.holiday_subdivision

    def is_weekend(self, day: date) -> bool:
        """Weekend day or public holiday."""
        if day.weekday() in self._weekend_days:
            return True
        if self._country is None:
            return False
        return day in public_holidays(self._country, self._subdivision, day.year)

    def profile(self, day: date) -> DayProfile:
        weekday, weekend = self._profiles[self._table[date_day_of_year(day)]]
        return weekend if self.is_weekend(day) else weekday
