"""Public holidays by country and subdivision, from the ``holidays`` package (pure computation).

Results are memoised per (country, subdivision, year): the package computes them, it does no I/O.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=1)
def _supported() -> dict[str, frozenset[str]]:
    return {
        country: frozenset(subdivisions)
        for country, subdivisions in holidays.list_supported_countries().items()
    }


def is_supported_region(country: str, subdivision: str | None = None) -> bool:
    """True if the ``holidays`` package knows the country (and subdivision, if given)."""
    subdivisions = _supported().get(country)
    if subdivisions is None:
        return False
    return subdivision is None or subdivision in subdivisions


@lru_cache(maxsize=512)
def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays (observed days included) of one year."""
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(calendar.keys())


def is_public_holiday(day: date, country: str, subdivision: str | None = None) -> bool:
    return day in public_holidays(country, subdivision, day.year)
