"""The tariff API's shapes. Prices are in major currency units per kWh (EUR, not cents)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Direction = Literal["IMPORT", "EXPORT"]
TariffDirection = Literal["IMPORT", "EXPORT", "LOCAL"]
TariffKind = Literal["fixed", "tou", "tou_weekday_weekend", "market"]


class SlotIn(BaseModel):
    start: time = Field(examples=["07:00"], description="local time, inclusive")
    end: time = Field(examples=["22:00"], description="local time, exclusive; 00:00 = midnight")
    price_per_kwh: float = Field(allow_inf_nan=False, examples=[0.32])


class PeriodIn(BaseModel):
    name: str = Field(min_length=1, max_length=60, examples=["winter"])
    start: str = Field(pattern=r"^\d{2}-\d{2}$", examples=["10-01"], description="MM-DD")
    end: str = Field(pattern=r"^\d{2}-\d{2}$", examples=["03-31"], description="MM-DD, inclusive")
    slots: list[SlotIn] | None = Field(default=None, description="kind 'tou': the day's slots")
    weekday_slots: list[SlotIn] | None = Field(
        default=None, description="kind 'tou_weekday_weekend'"
    )
    weekend_slots: list[SlotIn] | None = Field(
        default=None, description="kind 'tou_weekday_weekend' (public holidays count as weekend)"
    )


class FormulaIn(BaseModel):
    """price = (market * multiplier + markup_per_kwh + grid_fee_per_kwh) * (1 + vat_rate)"""

    multiplier: float = Field(default=1.0, allow_inf_nan=False)
    markup_per_kwh: float = Field(default=0.0, allow_inf_nan=False)
    grid_fee_per_kwh: float = Field(default=0.0, allow_inf_nan=False)
    vat_rate: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False, examples=[0.19])


class TariffIn(BaseModel):
    """One version of a tariff. Exactly the fields of its ``kind`` are used."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "valid_from": "2026-01-01",
                    "kind": "fixed",
                    "currency": "EUR",
                    "price_per_kwh": 0.31,
                },
                {
                    "valid_from": "2026-01-01",
                    "kind": "tou",
                    "currency": "EUR",
                    "periods": [
                        {
                            "name": "all year",
                            "start": "01-01",
                            "end": "12-31",
                            "slots": [
                                {"start": "00:00", "end": "07:00", "price_per_kwh": 0.22},
                                {"start": "07:00", "end": "22:00", "price_per_kwh": 0.36},
                                {"start": "22:00", "end": "00:00", "price_per_kwh": 0.22},
                            ],
                        }
                    ],
                },
                {
                    "valid_from": "2026-01-01",
                    "kind": "market",
                    "currency": "EUR",
                    "source": "awattar",
                    "area": "DE",
                    "formula": {"markup_per_kwh": 0.02, "grid_fee_per_kwh": 0.09, "vat_rate": 0.19},
                },
            ]
        }
    )

    valid_from: date = Field(description="local date in the site's zone from which it applies")
    kind: TariffKind
    currency: str = Field(pattern="^[A-Z]{3}$", examples=["EUR"])
    price_per_kwh: float | None = Field(default=None, allow_inf_nan=False, description="'fixed'")
    periods: list[PeriodIn] | None = None
    holiday_country: str | None = Field(
        default=None, description="public holidays count as weekend; the site's country if unset"
    )
    holiday_subdivision: str | None = None
    source: str | None = Field(
        default=None, description="'market': entsoe|awattar|nordpool|octopus"
    )
    area: str | None = Field(default=None, description="'market': country or bidding zone, e.g. DE")
    formula: FormulaIn | None = None


class SetByOut(BaseModel):
    user_id: str
    name: str
    role: str = Field(description="admin, om or owner: an owner sets the tariff of their home")


class TariffWarningOut(BaseModel):
    code: str = Field(description="no_prices_tomorrow: no stored market prices cover `day`")
    message: str
    day: date = Field(description="the site's local date the warning is about")


class TariffOut(TariffIn):
    id: str
    direction: TariffDirection
    created_at: datetime = Field(description="when this version was saved")
    set_by: SetByOut | None = Field(
        default=None, description="who saved this version (none: a job, or a deleted user)"
    )
    warnings: list[TariffWarningOut] = Field(
        default_factory=list,
        description="for a market tariff (on save, or in force tomorrow when read): no stored "
        "prices cover the site's tomorrow yet; the portal asks before saving for the same reason",
    )


class RateOut(BaseModel):
    start_time: datetime
    end_time: datetime
    price_per_kwh: float


class RatesOut(BaseModel):
    site_id: str
    direction: TariffDirection
    currency: str
    resolution_minutes: int
    rates: list[RateOut]


class MarketPricesIn(BaseModel):
    """Prices to store for a market area (for sources the server cannot reach itself)."""

    currency: str = Field(pattern="^[A-Z]{3}$")
    prices: list[RateOut] = Field(min_length=1, max_length=20000)
