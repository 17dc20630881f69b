"""The size and range a tariff may have. Pure.

A tariff is read on every money call of its site, so its size is bounded before it is validated
or stored: at most ``MAX_PERIODS`` periods, ``MAX_SLOTS_PER_DAY`` slots in a day's list (one every
15 minutes, the finest price resolution), prices within +-``MAX_PRICE_PER_KWH`` (major currency
units per kWh: far above any real price, far below where sums of them lose precision), formula
terms likewise, and ``valid_from`` between ``EARLIEST_VALID_FROM`` and ``LATEST_VALID_FROM``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

from voltfleet.domain.tariffs.model import (
    FixedTariff,
    MarketTariff,
    Tariff,
    TimeSlot,
    TouTariff,
    TouWeekTariff,
)

MAX_PERIODS = 24
MAX_SLOTS_PER_DAY = 96
MAX_PRICE_PER_KWH = 10_000.0
MAX_MULTIPLIER = 1_000.0
EARLIEST_VALID_FROM = date(2000, 1, 1)
LATEST_VALID_FROM = date(2100, 12, 31)


class TariffLimitError(ValueError):
    """A tariff beyond a limit; the message names the limit."""


def _day_lists(tariff: Tariff) -> Iterator[tuple[str, tuple[TimeSlot, ...]]]:
    if isinstance(tariff, TouTariff):
        for p in tariff.periods:
            yield f"period '{p.name}'", p.slots
    elif isinstance(tariff, TouWeekTariff):
        for wp in tariff.periods:
            yield f"period '{wp.name}' weekday_slots", wp.weekday_slots
            yield f"period '{wp.name}' weekend_slots", wp.weekend_slots


def _price_ok(value: float, bound: float = MAX_PRICE_PER_KWH) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and abs(value) <= bound


def count_problem(periods: int, slot_lists: Iterator[tuple[str, int]]) -> str | None:
    """The first size limit broken by ``periods`` periods and the named slot-list lengths."""
    if periods > MAX_PERIODS:
        return f"a tariff may have at most {MAX_PERIODS} periods, not {periods}"
    for where, n in slot_lists:
        if n > MAX_SLOTS_PER_DAY:
            return f"{where}: a day may have at most {MAX_SLOTS_PER_DAY} slots, not {n}"
    return None


def check_limits(tariff: Tariff, valid_from: date | None = None) -> None:
    """Raise ``TariffLimitError`` naming the first limit ``tariff`` (from ``valid_from``)
    breaks."""
    if valid_from is not None and not EARLIEST_VALID_FROM <= valid_from <= LATEST_VALID_FROM:
        raise TariffLimitError(
            f"valid_from {valid_from.isoformat()} is outside {EARLIEST_VALID_FROM.isoformat()}"
            f" .. {LATEST_VALID_FROM.isoformat()}"
        )
    periods = len(tariff.periods) if isinstance(tariff, TouTariff | TouWeekTariff) else 0
    problem = count_problem(periods, ((w, len(s)) for w, s in _day_lists(tariff)))
    if problem is not None:
        raise TariffLimitError(problem)
    limit = f"must be a number within +-{MAX_PRICE_PER_KWH:,.0f} per kWh"
    if isinstance(tariff, FixedTariff) and not _price_ok(tariff.price_per_kwh):
        raise TariffLimitError(f"price_per_kwh {tariff.price_per_kwh!r} {limit}")
    for where, slots in _day_lists(tariff):
        for i, slot in enumerate(slots):
            if not _price_ok(slot.price_per_kwh):
                raise TariffLimitError(f"{where} slot {i}: price {slot.price_per_kwh!r} {limit}")
    if isinstance(tariff, MarketTariff) and tariff.formula is not None:
        f = tariff.formula
        for name, value in (("markup_per_kwh", f.markup_per_kwh),
                            ("grid_fee_per_kwh", f.grid_fee_per_kwh)):  # fmt: skip
            if not _price_ok(value):
                raise TariffLimitError(f"formula {name} {value!r} {limit}")
        if not _price_ok(f.multiplier, MAX_MULTIPLIER):
            raise TariffLimitError(
                f"formula multiplier {f.multiplier!r} must be within +-{MAX_MULTIPLIER:,.0f}"
            )
