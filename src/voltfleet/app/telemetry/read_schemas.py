"""Answers of the telemetry read API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from voltfleet.app.alarms.schemas import AlarmCountsOut, AlarmLevelCountsOut


class PointOut(BaseModel):
    name: str
    unit: str
    kind: str
    aggregate: str = Field(description="what a roll-up holds: energy in the period, or the mean")


class CataloguePointOut(PointOut):
    units: list[str] = Field(description="units accepted on ingest; the first is canonical")
    low: float | None = Field(description="lowest plausible value (canonical unit), if any")
    high: float | None = Field(description="highest plausible value (canonical unit), if any")
    description: str


class ReadingOut(BaseModel):
    point: str
    ts: datetime
    value: float


class ReadingsOut(BaseModel):
    device_id: str
    start_time: datetime
    end_time: datetime
    count: int
    points: list[PointOut]
    readings: list[ReadingOut] = Field(description="in time order, then by point")


class RollupOut(BaseModel):
    start_time: datetime
    value: float = Field(description="energy (Wh) in the period, or the mean of a gauge")
    samples: int
    low: float | None = None
    high: float | None = None


class SeriesOut(BaseModel):
    point: str
    unit: str
    aggregate: str
    rows: list[RollupOut]


class DeviceSeriesOut(BaseModel):
    device_id: str
    resolution: str
    timezone: str
    start_time: datetime
    end_time: datetime
    series: list[SeriesOut]


class BalanceOut(BaseModel):
    pv_wh: float
    consumption_wh: float
    consumption_measured: bool
    grid_import_wh: float
    grid_export_wh: float
    battery_charge_wh: float
    battery_discharge_wh: float
    self_consumed_wh: float
    self_consumption: float | None = Field(description="fraction 0..1 of the PV yield used")
    self_sufficiency: float | None = Field(description="fraction 0..1 of consumption not imported")


class BarOut(BalanceOut):
    label: str
    start_time: datetime
    end_time: datetime


class SiteEnergyOut(BaseModel):
    site_id: str
    period: str
    date: str
    timezone: str
    start_time: datetime
    end_time: datetime
    devices: list[str] = Field(description="the devices counted (the statistical range)")
    bars: list[BarOut]
    total: BalanceOut


class DeviceBarOut(BaseModel):
    label: str
    start_time: datetime
    end_time: datetime
    energy_wh: dict[str, float] = Field(description="Wh in the bar, per energy counter")


class DeviceEnergyOut(BaseModel):
    device_id: str
    period: str
    date: str
    timezone: str
    start_time: datetime
    end_time: datetime
    points: list[PointOut] = Field(description="the energy counters the device has sent")
    bars: list[DeviceBarOut]
    total_wh: dict[str, float]


class PeriodsOut(BaseModel):
    day: float
    month: float
    year: float
    total: float


class MoneyOut(PeriodsOut):
    currency: str


class RankedOut(BaseModel):
    site_id: str
    name: str
    yield_wh: float
    capacity_kwp: float
    specific_yield_kwh_per_kwp: float | None


class GreenOut(BaseModel):
    coal_kg: float
    co2_kg: float
    trees: float


class TrendOut(BaseModel):
    month: str
    yield_wh: float


class TrendMoneyOut(BaseModel):
    month: str
    revenue: float


class RevenueTrendOut(BaseModel):
    currency: str
    months: list[TrendMoneyOut] = Field(description="the months of the yield trend")


class RateUsedOut(BaseModel):
    """A reference rate used: 1 ``source`` = ``rate`` ``target``, the ECB's rate of
    ``rate_date``."""

    source: str
    target: str
    rate: Decimal = Field(description="6 significant digits, as the portal shows it")
    rate_date: date = Field(description="the ECB reference day whose rate was used")


class RevenueConvertedOut(BaseModel):
    """The revenue of every currency converted into the caller's (``currency``), as the home
    page shows it; amounts rounded once, half-even, to the currency's minor unit."""

    currency: str
    day: Decimal
    month: Decimal
    year: Decimal
    total: Decimal
    rates: list[RateUsedOut] = Field(description="the rates used, one per converted currency")
    unconverted: list[MoneyOut] = Field(
        description="currencies with no stored reference rate, left out of the sums above"
    )


class FleetKpisOut(BaseModel):
    sites: int
    status: dict[str, int]
    capacity_kwp: float
    power_w: float
    sites_reporting_power: int
    yield_wh: PeriodsOut = Field(
        description="PV yield (Wh) of today, this month and this year in each site's own "
        "calendar; `total` is the lifetime yield as the site list counts it: the sum of a site's "
        "inverters' lifetime counters where every inverter counted in its statistics reports "
        "one, else its yield since it joined the platform (see `yield_total_source`)"
    )
    yield_total_source: str = Field(
        default="since_joined",
        description='how `yield_wh.total` was counted: "lifetime_counter" (every site by its '
        'inverters\' lifetime counters), "since_joined" (no site has them) or "mixed"',
    )
    yield_total_lifetime_sites: int = Field(
        default=0, description="how many of the sites are counted by their lifetime counters"
    )
    revenue: list[MoneyOut] = Field(description="per currency, the caller's currency first")
    green: GreenOut
    trend: list[TrendOut]
    revenue_trend: list[RevenueTrendOut] = Field(
        description="monthly revenue per currency, yours first, over the months of the trend"
    )
    ranking: list[RankedOut] = Field(description="the top sites by this year's yield")
    ranking_cumulative: list[RankedOut] = Field(
        default_factory=list, description="the top sites by cumulative yield"
    )
    alarms: AlarmCountsOut = Field(
        default_factory=AlarmCountsOut,
        description="active alarms of your sites by the old severities (kept for existing "
        "clients; see alarm_levels)",
    )
    alarm_levels: AlarmLevelCountsOut = Field(
        default_factory=AlarmLevelCountsOut,
        description="active alarms of your sites by the manual's four levels",
    )
    revenue_converted: RevenueConvertedOut | None = Field(
        default=None,
        description="the revenue of all your sites in your currency, with the rates used",
    )
