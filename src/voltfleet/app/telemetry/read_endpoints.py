"""Telemetry read API: a device's readings and roll-ups, a site's energy, the fleet's figures.
Each answers JSON, or a CSV download with ``?format=csv``."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from voltfleet.app.alarms.repository import active_counts as active_alarm_counts
from voltfleet.app.alarms.repository import active_level_counts
from voltfleet.app.alarms.schemas import AlarmCountsOut, AlarmLevelCountsOut
from voltfleet.app.deps import CallerDep, DbSession, NowDep, RuntimeDep
from voltfleet.app.exchange.rates import Converted
from voltfleet.app.exchange.revenue import revenue_in
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tables import Format
from voltfleet.app.telemetry import fleet_service, read_tables, site_figures
from voltfleet.app.telemetry import read_service as rs
from voltfleet.app.telemetry.read_schemas import (
    BalanceOut,
    BarOut,
    CataloguePointOut,
    DeviceBarOut,
    DeviceEnergyOut,
    DeviceSeriesOut,
    FleetKpisOut,
    GreenOut,
    MoneyOut,
    PeriodsOut,
    PointOut,
    RankedOut,
    RateUsedOut,
    ReadingOut,
    ReadingsOut,
    RevenueConvertedOut,
    RevenueTrendOut,
    RollupOut,
    SeriesOut,
    SiteEnergyOut,
    TrendMoneyOut,
    TrendOut,
)
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.exchange_rates import for_display
from voltfleet.domain.telemetry import kpi
from voltfleet.domain.telemetry.energy import Period
from voltfleet.domain.telemetry.points import CATALOGUE, Point
from voltfleet.domain.telemetry.rollup import Resolution

router = APIRouter(tags=["telemetry"])


@router.get(
    "/api/v1/telemetry/points",
    response_model=list[CataloguePointOut],
    summary="The data points a gateway may send: kind, units and plausible range",
)
def catalogue(caller: CallerDep) -> list[CataloguePointOut]:
    """The same for everyone: not about any tenant's data. A reading in another unit of the
    point is converted; one outside the range, or in a unit not listed, is quarantined."""
    return [
        CataloguePointOut(
            name=p.name,
            unit=p.unit,
            kind=p.kind.value,
            aggregate=rs.aggregate_of(p),
            units=list(p.units),
            low=p.low if math.isfinite(p.low) else None,
            high=p.high if math.isfinite(p.high) else None,
            description=p.description,
        )
        for p in CATALOGUE.values()
    ]


Points = Annotated[
    str | None,
    Query(description="comma-separated data points (default: PV, grid, battery and load power)"),
]


def _points(r: list[Point]) -> list[PointOut]:
    return [
        PointOut(name=p.name, unit=p.unit, kind=p.kind.value, aggregate=rs.aggregate_of(p))
        for p in r
    ]


@router.get(
    "/api/v1/devices/{device_id}/readings",
    response_model=ReadingsOut,
    tags=["devices"],
    summary="A device's raw readings in a window (at most 31 days and 20,000 readings)",
)
def device_readings(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    device_id: str,
    points: Points = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    format: Format = "json",
) -> ReadingsOut | Response:
    """Readings with start_time <= ts < end_time (default: the last 24 hours). A window holding
    more than 20,000 readings is refused (422 ``too_many_readings``): narrow it, or read the
    roll-ups from ``/series``."""
    r = rs.readings(session, caller, device_id, points, start_time, end_time, now=now)
    if format == "csv":
        return read_tables.readings_table(r).download(f"readings-{r.device.serial}.csv")
    items = sorted(
        (
            ReadingOut(point=name, ts=s.ts, value=s.value)
            for name, v in r.samples.items()
            for s in v
        ),
        key=lambda x: (x.ts, x.point),
    )
    return ReadingsOut(
        device_id=r.device.id,
        start_time=r.start,
        end_time=r.end,
        count=len(items),
        points=_points(r.points),
        readings=items,
    )


@router.get(
    "/api/v1/devices/{device_id}/series",
    response_model=DeviceSeriesOut,
    tags=["devices"],
    summary="A device's roll-ups: 5-minute, hourly, daily or monthly",
)
def device_series(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    device_id: str,
    points: Points = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    resolution: Resolution = Resolution.HOUR,
    format: Format = "json",
) -> DeviceSeriesOut | Response:
    """Periods of the site's local calendar starting in [start_time, end_time). Energy points
    give the energy (Wh) in each period; gauges their mean, minimum and maximum. Windows: at
    most 31 days of 5-minute periods, 400 days of hours, about ten years of days."""
    s = rs.series(session, caller, device_id, points, resolution, start_time, end_time, now=now)
    if format == "csv":
        return read_tables.series_table(s).download(
            f"series-{s.device.serial}-{resolution.value}.csv"
        )
    return DeviceSeriesOut(
        device_id=s.device.id,
        resolution=s.resolution.value,
        timezone=s.site.timezone,
        start_time=s.start,
        end_time=s.end,
        series=[
            SeriesOut(
                point=p.name,
                unit=p.unit,
                aggregate=rs.aggregate_of(p),
                rows=[
                    RollupOut(
                        start_time=x.start, value=x.value, samples=x.samples, low=x.low, high=x.high
                    )
                    for x in s.rows[p.name]
                ],
            )
            for p in s.points
        ],
    )


@router.get(
    "/api/v1/sites/{site_id}/energy",
    response_model=SiteEnergyOut,
    tags=["sites"],
    summary="A site's energy as bars: a day by hour, a month by day, a year by month, all by year",
)
def site_energy(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    site_id: str,
    period: Period = Period.DAY,
    date: Annotated[str | None, Query(description="YYYY-MM-DD in the site's zone; today")] = None,
    format: Format = "json",
) -> SiteEnergyOut | Response:
    """PV yield, consumption (measured, or from the balance pv + import + discharge = consumption
    + export + charge), grid import and export, battery charge and discharge, self-consumption
    and self-sufficiency, summed over the devices in the site's statistical range."""
    e = rs.site_energy(session, caller, site_id, period, rs.parse_day(date), now=now)
    if format == "csv":
        return read_tables.energy_table(e).download(
            f"energy-{e.period.value}-{e.day.isoformat()}.csv"
        )
    return SiteEnergyOut(
        site_id=e.site.id,
        period=e.period.value,
        date=e.day.isoformat(),
        timezone=e.site.timezone,
        start_time=e.start,
        end_time=e.end,
        devices=[d.id for d in e.devices],
        bars=[
            BarOut(label=b.label, start_time=b.start, end_time=b.end, **rs.balance_dict(b.balance))  # type: ignore[arg-type]
            for b in e.bars
        ],
        total=BalanceOut(**rs.balance_dict(e.total)),  # type: ignore[arg-type]
    )


@router.get(
    "/api/v1/devices/{device_id}/energy",
    response_model=DeviceEnergyOut,
    tags=["devices"],
    summary="A device's energy counters as bars: a day by hour, a month by day, a year by month",
)
def device_energy(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    device_id: str,
    period: Period = Period.DAY,
    date: Annotated[str | None, Query(description="YYYY-MM-DD in the site's zone; today")] = None,
    format: Format = "json",
) -> DeviceEnergyOut | Response:
    """The energy of each counter the device has sent (PV yield, grid import and export,
    battery charge and discharge, consumption, EV energy), whether or not the device counts in
    its site's statistics. No balance is derived from one device: see the site's energy."""
    e = rs.device_energy(session, caller, device_id, period, rs.parse_day(date), now=now)
    if format == "csv":
        name = f"energy-{e.device.serial}-{e.period.value}-{e.day.isoformat()}.csv"
        return read_tables.device_energy_table(e).download(name)
    return DeviceEnergyOut(
        device_id=e.device.id,
        period=e.period.value,
        date=e.day.isoformat(),
        timezone=e.site.timezone,
        start_time=e.start,
        end_time=e.end,
        points=_points(e.points),
        bars=[
            DeviceBarOut(label=b.label, start_time=b.start, end_time=b.end, energy_wh=b.wh)
            for b in e.bars
        ],
        total_wh=e.total,
    )


def _periods(p: kpi.Periods) -> PeriodsOut:
    return PeriodsOut(day=p.day, month=p.month, year=p.year, total=p.total)


@router.get(
    "/api/v1/fleet/kpis",
    response_model=FleetKpisOut,
    tags=["sites"],
    summary="Key figures of your fleet: status, power, yield, revenue, green efficiency, ranking",
)
def fleet_kpis(
    session: DbSession,
    caller: CallerDep,
    runtime: RuntimeDep,
    now: NowDep,
    format: Format = "json",
) -> FleetKpisOut | Response:
    """Over your own sites (sites shared to your organisation are not in your statistics).
    Revenue is per currency, yours first; a site without tariffs is valued at the default price
    of the settings. The total yield is the lifetime yield, as the site list counts it: a site's
    inverters' lifetime counters where they all report one, else its yield since it joined."""
    caller.require(Kind.SITE, Action.LIST)
    if format == "csv":
        columns = site_figures.site_columns(session, caller, runtime.settings, now)
        return site_figures.figures_table(columns).download("fleet-kpis.csv")
    f = fleet_service.fleet_figures(session, caller, runtime.settings, now)
    k = f.kpis
    status = SiteRepository(session, caller).status_counts()
    mine = caller.user.currency
    money_trend = {mine: f.revenue_trend.get(mine, [(m, 0.0) for m, _ in k.trend])}
    money_trend |= {c: t for c, t in f.revenue_trend.items() if c != mine}
    return FleetKpisOut(
        sites=k.sites,
        status=status,
        capacity_kwp=k.capacity_kwp,
        power_w=k.power_w,
        sites_reporting_power=k.sites_reporting_power,
        yield_wh=_periods(k.yield_wh),
        yield_total_source=f.total_yield.source,
        yield_total_lifetime_sites=f.total_yield.lifetime_sites,
        revenue=[
            MoneyOut(currency=c, **_periods(p).model_dump())
            for c, p in fleet_service.ordered_currencies(k.revenue, caller.user.currency)
        ],
        green=GreenOut(coal_kg=k.green.coal_kg, co2_kg=k.green.co2_kg, trees=k.green.trees),
        trend=[TrendOut(month=m, yield_wh=v) for m, v in k.trend],
        revenue_trend=[
            RevenueTrendOut(
                currency=c, months=[TrendMoneyOut(month=m, revenue=v) for m, v in months]
            )
            for c, months in money_trend.items()
        ],
        ranking=[
            RankedOut(
                site_id=x.site_id,
                name=x.name,
                yield_wh=x.yield_wh,
                capacity_kwp=x.capacity_kwp,
                specific_yield_kwh_per_kwp=x.specific_yield_kwh_per_kwp,
            )
            for x in k.ranking
        ],
        ranking_cumulative=[
            RankedOut(
                site_id=x.site_id,
                name=x.name,
                yield_wh=x.yield_wh,
                capacity_kwp=x.capacity_kwp,
                specific_yield_kwh_per_kwp=x.specific_yield_kwh_per_kwp,
            )
            for x in k.ranking_cumulative
        ],
        alarms=AlarmCountsOut(**active_alarm_counts(session, caller)),
        alarm_levels=AlarmLevelCountsOut(**active_level_counts(session, caller)),
        revenue_converted=_converted(revenue_in(session, k.revenue, mine, now)),
    )


def _converted(c: Converted) -> RevenueConvertedOut:
    """The home page's converted revenue (app/exchange/revenue.py) as the API gives it."""
    return RevenueConvertedOut(
        currency=c.currency,
        **{p: for_display(c.periods.get(p, Decimal(0)), c.currency) for p in kpi.PERIODS},
        rates=[
            RateUsedOut(source=u.source, target=u.target, rate=u.rate, rate_date=u.day)
            for u in c.used
        ],
        unconverted=[
            MoneyOut(currency=cur, **{p: float(v) for p, v in periods.items()})
            for cur, periods in c.unconverted.items()
        ],
    )
