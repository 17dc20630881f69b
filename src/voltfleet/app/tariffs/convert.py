"""Between the API's tariff shape (stored as JSON) and the domain's tariff dataclasses."""

from __future__ import annotations

from typing import Any

from voltfleet.app.tariffs.schemas import FormulaIn, PeriodIn, SlotIn, TariffIn
from voltfleet.domain.tariffs import (
    FixedTariff,
    MarketTariff,
    MonthDay,
    PriceFormula,
    Tariff,
    TimeSlot,
    TouPeriod,
    TouTariff,
    TouWeekPeriod,
    TouWeekTariff,
)


class DefinitionError(ValueError):
    """The tariff body lacks what its kind needs; the message names the field."""


def _slots(slots: list[SlotIn] | None, where: str) -> tuple[TimeSlot, ...]:
    if not slots:
        raise DefinitionError(f"{where}: give at least one slot")
    return tuple(TimeSlot(s.start, s.end, s.price_per_kwh) for s in slots)


def _month_day(text: str, where: str) -> MonthDay:
    try:
        return MonthDay.parse(text)
    except ValueError as exc:
        raise DefinitionError(f"{where}: {exc}") from exc


def to_domain(body: TariffIn, default_holiday_country: str = "") -> Tariff:
    """The domain tariff for an API body (its periods and slots still to be validated)."""
    if body.kind == "fixed":
        if body.price_per_kwh is None:
            raise DefinitionError("price_per_kwh: a fixed tariff needs a price")
        return FixedTariff(body.currency, body.price_per_kwh)
    if body.kind == "market":
        if not body.source or not body.area:
            raise DefinitionError("source and area: an automatic tariff needs both")
        formula = PriceFormula(**body.formula.model_dump()) if body.formula else None
        return MarketTariff(body.currency, formula, body.source, body.area)
    if not body.periods:
        raise DefinitionError("periods: a time-of-use tariff needs at least one period")
    if body.kind == "tou":
        return TouTariff(
            body.currency,
            tuple(_period(p, i) for i, p in enumerate(body.periods)),
        )
    periods = tuple(
        TouWeekPeriod(
            p.name,
            _month_day(p.start, f"periods[{i}].start"),
            _month_day(p.end, f"periods[{i}].end"),
            _slots(p.weekday_slots, f"periods[{i}] '{p.name}'.weekday_slots"),
            _slots(p.weekend_slots, f"periods[{i}] '{p.name}'.weekend_slots"),
        )
        for i, p in enumerate(body.periods)
    )
    country = body.holiday_country or default_holiday_country or None
    return TouWeekTariff(body.currency, periods, country, body.holiday_subdivision)


def _period(p: PeriodIn, i: int) -> TouPeriod:
    return TouPeriod(
        p.name,
        _month_day(p.start, f"periods[{i}].start"),
        _month_day(p.end, f"periods[{i}].end"),
        _slots(p.slots, f"periods[{i}] '{p.name}'.slots"),
    )


def definition(body: TariffIn) -> dict[str, Any]:
    """What is stored: the body without its validity date."""
    return body.model_dump(mode="json", exclude={"valid_from"}, exclude_none=True)


def from_definition(valid_from: Any, data: dict[str, Any]) -> TariffIn:
    return TariffIn.model_validate({**data, "valid_from": valid_from})


__all__ = ["DefinitionError", "FormulaIn", "definition", "from_definition", "to_domain"]
