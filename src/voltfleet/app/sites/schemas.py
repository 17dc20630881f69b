from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from voltfleet.app.devices.schemas import SERIAL

SiteType = Literal["residential_ess", "pv", "ci"]
SiteStatusName = Literal["online", "offline", "abnormal", "no_device"]
Country = Field(default="", pattern="^([A-Z]{2})?$", description="ISO 3166-1 alpha-2, e.g. DE")


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{value}' (use an IANA name such as Europe/Berlin)"
        ) from None
    return value


class GatewayIn(BaseModel):
    """The gateway (dongle / data logger) to bind while creating a site."""

    serial: str = Field(min_length=1, max_length=64, pattern=SERIAL, examples=["GW23A0001234"])
    subtype: Literal["wifi", "4g", "ethernet", "datahub"] = "wifi"
    registration_no: str = Field(default="", max_length=64)
    model: str = Field(default="", max_length=100)
    fw_arm: str = Field(default="", max_length=40, description="the gateway's firmware version")


class AccountChoice(BaseModel):
    """Who the site belongs to: a new owner account, an existing user, or nobody yet."""

    mode: Literal["new", "existing", "none"] = "none"
    email: EmailStr | None = Field(default=None, description="mode new: the owner's email")
    username: str | None = Field(default=None, max_length=100, description="mode new")
    user_id: str | None = Field(default=None, description="mode existing: the owner account")


class SiteFields(BaseModel):
    address: str = Field(default="", max_length=500)
    region: str = Field(default="", max_length=10, description="state / province code")
    site_type: SiteType = "residential_ess"
    on_grid: bool = True
    capacity_kwp: float = Field(default=0.0, ge=0, le=1_000_000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class SiteCreate(SiteFields):
    name: str = Field(min_length=1, max_length=200, examples=["Musterhaus Freiburg"])
    country: str = Country
    timezone: str | None = Field(default=None, description="IANA zone; from the country if omitted")
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", description="from the country")
    temperature_unit: Literal["C", "F"] | None = Field(default=None, description="from the country")
    org_id: str | None = Field(default=None, description="your own organisation when omitted")
    gateway: GatewayIn | None = None
    account: AccountChoice = Field(default_factory=AccountChoice)

    _tz = field_validator("timezone")(_check_timezone)


class SiteUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    country: str | None = Field(default=None, pattern="^([A-Z]{2})?$")
    region: str | None = Field(default=None, max_length=10)
    timezone: str | None = None
    site_type: SiteType | None = None
    on_grid: bool | None = None
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")
    temperature_unit: Literal["C", "F"] | None = None
    capacity_kwp: float | None = Field(default=None, ge=0, le=1_000_000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    _tz = field_validator("timezone")(_check_timezone)


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    address: str
    country: str
    region: str
    timezone: str
    site_type: str
    on_grid: bool
    currency: str
    temperature_unit: str
    capacity_kwp: float
    latitude: float | None
    longitude: float | None
    org_id: str
    org_name: str = ""
    owner_id: str | None
    owner_email: str | None = None
    status: str
    shared: bool = Field(default=False, description="shared to your organisation by another")
    has_picture: bool = False
    device_count: int = 0
    created_at: datetime
    updated_at: datetime
    # The site list's figures (GET /api/v1/sites only; null elsewhere): app/sites/listing.py.
    online_rate: float | None = Field(default=None, description="devices online / devices, 0..1")
    power_w: float | None = Field(default=None, description="PV power now (last 15 minutes)")
    yield_today_wh: float | None = Field(default=None, description="PV yield of the local day")
    active_alarms: int | None = None
    total_yield_wh: float | None = Field(
        default=None,
        description="total yield: the inverters' lifetime counters, or (total_yield_source "
        "since_joined) the yield since the site joined on total_yield_since",
    )
    total_yield_source: Literal["lifetime_counter", "since_joined"] | None = None
    total_yield_since: date | None = Field(
        default=None, description="the local date the site joined (since_joined only)"
    )


class SiteCreated(SiteOut):
    owner_created: bool = Field(
        default=False, description="a new owner account was created and its password mailed"
    )


class ShareIn(BaseModel):
    org_id: str | None = Field(default=None, description="the organisation to share the site with")
    org: str | None = Field(
        default=None,
        max_length=200,
        description="instead of org_id: an organisation outside your own found by its exact "
        "name or its access code (look-ups are rate-limited; nothing lists other tenants)",
    )


class ShareOut(BaseModel):
    org_id: str
    org_name: str
    created_at: datetime


class DistributeIn(BaseModel):
    user_id: str | None = Field(description="the owner account; null leaves the site unassociated")


class DeleteIn(BaseModel):
    code: str | None = Field(
        default=None,
        description="the code mailed to the site's owner (POST .../deletion-code); needed when a "
        "device is bound to the site",
    )


class Accepted(BaseModel):
    detail: str


class StatusCounts(BaseModel):
    online: int = 0
    offline: int = 0
    abnormal: int = 0
    no_device: int = 0
    total: int = 0


class StatisticalDevice(BaseModel):
    id: str
    kind: str
    serial: str
    name: str
    in_statistics: bool
    counted: bool = Field(description="counts in the site's statistics (kind and device switch)")


class StatisticalRange(BaseModel):
    inverters: bool
    meters: bool
    devices: list[StatisticalDevice]


class StatisticalRangeIn(BaseModel):
    inverters: bool | None = None
    meters: bool | None = None
    devices: dict[str, bool] = Field(
        default_factory=dict, description="device id -> counts in the statistics"
    )


class DeviceDayStatus(BaseModel):
    id: str
    serial: str
    kind: str
    statuses: list[str]


class SiteDayStatus(BaseModel):
    site_id: str
    day: date
    timezone: str
    status: SiteStatusName
    devices: list[DeviceDayStatus]
