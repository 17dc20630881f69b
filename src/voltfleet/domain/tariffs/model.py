"""Tariff definitions: plain frozen data, no behaviour beyond small helpers.

Prices are money per kWh in major units of the tariff's ISO 4217 ``currency``
(EUR, not cents). Negative prices are allowed (markets go negative).

Time-of-use tariffs are written in the site's LOCAL time: the year is split into
date periods (``MonthDay`` to ``MonthDay``, both inclusive, may wrap over the new
year) and each day into ``TimeSlot``s (``start`` inclusive, ``end`` exclusive,
``end == 00:00`` means midnight at the end of the day; a slot whose end is before
its start wraps over midnight). The price of an instant is the price of the slot
that contains the instant's local time of day, on the profile of the instant's
local date. So on a spring-forward day the skipped hour simply never happens and
on a fall-back day the repeated hour is priced twice.

A period whose ``end`` is 02-28 runs through 02-29 in leap years, so a year split
as "12-01..02-28, 03-01..11-30" has no leap-day gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum


class Direction(StrEnum):
    """Which way energy moves across the thing metered (and which tariff of a site applies).

    IMPORT: into the site / device (bought, charged). EXPORT: out of it (sold, discharged).
    """

    IMPORT = "IMPORT"
    EXPORT = "EXPORT"


class DayKind(StrEnum):
    """Which slot list of a period a day uses. ALL for plain time-of-use tariffs."""

    ALL = "ALL"
    WEEKDAY = "WEEKDAY"
    WEEKEND = "WEEKEND"


@dataclass(frozen=True, slots=True, order=True)
class MonthDay:
    """A day of the year without a year (month 1..12, day 1..31)."""

    month: int
    day: int

    @classmethod
    def parse(cls, text: str) -> MonthDay:
        """Parse ``"MM-DD"`` (e.g. ``"10-01"``)."""
        month_text, sep, day_text = text.strip().partition("-")
        if not sep or not month_text.isdigit() or not day_text.isdigit():
            raise ValueError(f"expected MM-DD, got {text!r}")
        return cls(int(month_text), int(day_text))

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True, slots=True)
class TimeSlot:
    """A local-time slot of a day with its price.

    ``start`` inclusive, ``end`` exclusive; ``end == time(0)`` means midnight at the end of
    the day; ``end < start`` wraps over midnight; ``start == end`` covers 24 h.
    ``price_per_kwh`` in major currency units per kWh.
    """

    start: time
    end: time
    price_per_kwh: float


@dataclass(frozen=True, slots=True)
class TouPeriod:
    """A date period of a time-of-use tariff: ``start``..``end`` inclusive, one slot list."""

    name: str
    start: MonthDay
    end: MonthDay
    slots: tuple[TimeSlot, ...]


@dataclass(frozen=True, slots=True)
class TouWeekPeriod:
    """A date period with separate slot lists for weekdays and weekends (holidays = weekend)."""

    name: str
    start: MonthDay
    end: MonthDay
    weekday_slots: tuple[TimeSlot, ...]
    weekend_slots: tuple[TimeSlot, ...]


@dataclass(frozen=True, slots=True)
class FixedTariff:
    """One price for every instant."""

    currency: str
    price_per_kwh: float


@dataclass(frozen=True, slots=True)
class TouTariff:
    """Time-of-use: the year split into periods, each day into slots."""

    currency: str
    periods: tuple[TouPeriod, ...]


@dataclass(frozen=True, slots=True)
class TouWeekTariff:
    """Time-of-use with weekday and weekend slot lists.

    Weekend days are ``weekend_days`` (``date.weekday()`` numbers, default Saturday and
    Sunday) plus the public holidays of ``holiday_country`` (ISO 3166-1 alpha-2, as the
    ``holidays`` package knows it) and optional ``holiday_subdivision`` (e.g. ``"BY"``).
    ``holiday_country=None`` means no holidays.
    """

    currency: str
    periods: tuple[TouWeekPeriod, ...]
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    weekend_days: frozenset[int] = field(default_factory=lambda: frozenset({5, 6}))


@dataclass(frozen=True, slots=True)
class PriceFormula:
    """Household price derived from a market price (all per kWh, major currency units).

    price = (market * multiplier + markup_per_kwh + grid_fee_per_kwh) * (1 + vat_rate)
    ``vat_rate`` is a fraction (0.19 for 19 %).
    """

    multiplier: float = 1.0
    markup_per_kwh: float = 0.0
    grid_fee_per_kwh: float = 0.0
    vat_rate: float = 0.0

    def apply(self, market_price_per_kwh: float) -> float:
        """The household price for one market price."""
        return (
            market_price_per_kwh * self.multiplier + self.markup_per_kwh + self.grid_fee_per_kwh
        ) * (1.0 + self.vat_rate)

    def is_finite(self) -> bool:
        return all(
            math.isfinite(v)
            for v in (self.multiplier, self.markup_per_kwh, self.grid_fee_per_kwh, self.vat_rate)
        )


@dataclass(frozen=True, slots=True)
class MarketTariff:
    """Automatic tariff: prices come from a market series given at pricing time.

    ``provider`` and ``area`` name where the series comes from (e.g. ``"entsoe"``,
    ``"DE-LU"``); the domain does not fetch anything. The market series must already be
    in ``currency`` per kWh. ``formula=None`` means the market price as is.
    """

    currency: str
    formula: PriceFormula | None = None
    provider: str = ""
    area: str = ""


Tariff = FixedTariff | TouTariff | TouWeekTariff | MarketTariff


@dataclass(frozen=True, slots=True)
class TariffVersion:
    """A tariff in force from local midnight of ``valid_from`` (site zone) until the next."""

    valid_from: date
    tariff: Tariff


@dataclass(frozen=True, slots=True)
class TariffHistory:
    """The versions of one tariff (import or export) of a site, in any order.

    Instants before the earliest ``valid_from`` have no price (an error, never invented).
    """

    versions: tuple[TariffVersion, ...]

    @classmethod
    def always(cls, tariff: Tariff) -> TariffHistory:
        """A history with one version in force for all time."""
        return cls((TariffVersion(date.min, tariff),))

    @property
    def currency(self) -> str:
        """Currency of the latest version (validation ensures all versions agree)."""
        if not self.versions:
            raise ValueError("tariff history has no versions")
        return max(self.versions, key=lambda v: v.valid_from).tariff.currency

    def sorted_versions(self) -> tuple[TariffVersion, ...]:
        return tuple(sorted(self.versions, key=lambda v: v.valid_from))
