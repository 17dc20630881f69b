"""What the virtual-battery API takes and gives."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class VirtualBatteryIn(BaseModel):
    name: str = Field(
        min_length=1, max_length=200, description="the meter's name the customer sees"
    )
    customer_id: str = Field(description="a user linked to the partner's account")
    meter_id: str = Field(description="the customer's house meter (import and export counters)")
    capacity_kwh: float = Field(ge=0, le=1_000_000, description="0: no limit")
    start_date: date = Field(description="the ledger begins at local midnight of this day")
    reset_on: date | None = Field(default=None, description="the battery returns to 0 that day")
    reset_yearly: bool = Field(default=False, description="reset on that day every year")
    org_id: str | None = Field(
        default=None, description="the utility partner offering it (default: your organisation)"
    )


class VirtualBatteryPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    capacity_kwh: float | None = Field(default=None, ge=0, le=1_000_000)
    start_date: date | None = None
    reset_on: date | None = None
    reset_yearly: bool | None = None
    clear_reset: bool = Field(default=False, description="remove the reset date")


class VirtualBatteryOut(BaseModel):
    id: str
    name: str
    org_id: str
    customer_id: str
    customer_email: str
    site_id: str
    meter_id: str
    capacity_kwh: float
    start_date: date
    reset_on: date | None
    reset_yearly: bool
    level_kwh: float
    level_percent: float | None = Field(description="None when the capacity is unlimited")
    level_at: datetime | None
    created_at: datetime


class IntervalOut(BaseModel):
    start: datetime
    import_wh: float
    export_wh: float
    level_wh: float
    charged_wh: float
    discharged_wh: float
    spilled_wh: float
    grid_import_wh: float
    forfeited_wh: float


class EnergyBucket(BaseModel):
    start: datetime
    charged_kwh: float
    discharged_kwh: float
    spilled_kwh: float
    grid_import_kwh: float
    level_kwh: float = Field(description="the level at the end of the period")


class EnergyOut(BaseModel):
    period: str
    start: datetime
    end: datetime
    buckets: list[EnergyBucket]
    charged_kwh: float
    discharged_kwh: float
    saved_import_kwh: float = Field(description="grid import the battery served")
    saved_value: float | None = Field(description="its worth at the site's import tariff")
    currency: str
    saved_value_note: str = ""


class LiveOut(BaseModel):
    level_kwh: float
    level_percent: float | None
    power_w: float = Field(description="> 0 charging, < 0 discharging")
    at: datetime | None


class MarketPartnerIn(BaseModel):
    sender_id: str = Field(min_length=1, max_length=35, pattern=r"^[0-9A-Za-z]+$")
    receiver_id: str = Field(min_length=1, max_length=35, pattern=r"^[0-9A-Za-z]+$")
    format_version: str = Field(default="2.4c", pattern=r"^[0-9]\.[0-9][a-z]?$")


class MarketPartnerOut(MarketPartnerIn):
    org_id: str
