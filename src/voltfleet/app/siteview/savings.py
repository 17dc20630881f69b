"""Savings per day from a site's own telemetry: what it paid with its battery against what the
same home would have paid without it (``domain.accounting.battery_days``; method in
docs/siteview.md). Every site with a battery gets these figures; no uploaded meter records are
needed.

Inputs per quarter hour, from the 5-minute roll-ups of the devices in the site's statistical
range (``commands.planning.measured``): the grid power (a meter's or the inverter's grid point;
where none is measured, the balance load + battery - PV), the battery power (the battery
devices', else whatever counted device reports it), and the site's import and export prices
(no export tariff: exported energy earns nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.commands.planning import STEP, measured
from voltfleet.app.i18n import gettext as _
from voltfleet.app.tariffs import service as tariffs
from voltfleet.domain.accounting.battery_days import DaySavings, Step, daily_savings
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.summaries import counted
from voltfleet.usecases.errors import Conflict

DAYS = 7


@dataclass(frozen=True)
class TelemetrySavings:
    days: list[DaySavings]
    currency: str
    reason: str | None = None  # why there are no figures
    steps: list[Step] = field(default_factory=list)  # the measured quarter hours priced
    grid_from: str = ""  # the grid power measured, or the balance it was computed from

    @property
    def total(self) -> DaySavings | None:
        if not self.days:
            return None
        out = DaySavings(self.days[0].day)
        for d in self.days:
            out.steps += d.steps
            out.imported_kwh += d.imported_kwh
            out.exported_kwh += d.exported_kwh
            out.charged_kwh += d.charged_kwh
            out.discharged_kwh += d.discharged_kwh
            out.cost_with += d.cost_with
            out.cost_without += d.cost_without
        return out


def _prices(
    session: Session, site: Site, direction: str, start: datetime, end: datetime
) -> tuple[list[float], str | None]:
    """Quarter-hour prices per kWh over [start, end) and their currency."""
    try:
        series = tariffs.rates(session, site, direction, start, end, STEP)
    except Conflict as exc:
        if direction == "EXPORT" and exc.code == "no_tariff":
            return [], None  # no feed-in tariff: exported energy earns nothing
        raise
    return [float(p) for p in series.prices_per_kwh], series.currency


def telemetry_savings(
    session: Session, site: Site, now: datetime, days: int = DAYS
) -> TelemetrySavings | None:
    """The last ``days`` local days up to now (today so far included); None without a battery."""
    tz = ZoneInfo(site.timezone or "UTC")
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(now.tzinfo)
    end = datetime.fromtimestamp(now.timestamp() // 900 * 900, now.tzinfo)
    return telemetry_between(session, site, start, end)


def telemetry_between(
    session: Session, site: Site, start: datetime, end: datetime
) -> TelemetrySavings | None:
    """The quarter hours in [start, end) (aligned to 15 minutes), per local day; None without
    a battery. The money API's savings report (``source=telemetry``) reads the same."""
    devices = [
        d
        for d in session.scalars(
            select(Device).where(Device.site_id == site.id, Device.deleted_at.is_(None))
        )
        if counted(site, d) or d.kind == "battery"
    ]
    batteries = [d for d in devices if d.kind == "battery"]
    if not batteries:
        return None
    currency = site.currency or "EUR"
    if end <= start:
        return TelemetrySavings([], currency)
    battery = dict(measured(session, batteries, "battery_power_w", start, end))
    if not battery:
        others = [d for d in devices if d.kind != "battery"]
        battery = dict(measured(session, others, "battery_power_w", start, end))
    grid = dict(measured(session, devices, "grid_power_w", start, end))
    grid_from = "grid_power_w"
    if not grid:
        pv = dict(measured(session, devices, "pv_power_w", start, end))
        load = dict(measured(session, devices, "load_power_w", start, end))
        grid = {t: load[t] + battery.get(t, 0.0) - pv.get(t, 0.0) for t in load}
        grid_from = "load_power_w + battery_power_w - pv_power_w"
    if not battery or not grid:
        return TelemetrySavings([], currency, _("No battery and grid power measured yet."))
    try:
        imp, currency_of_prices = _prices(session, site, "IMPORT", start, end)
        exp = _prices(session, site, "EXPORT", start, end)[0] or [0.0] * len(imp)
    except Conflict as exc:
        return TelemetrySavings([], currency, exc.message)
    currency = currency_of_prices or currency
    steps = []
    for i, (pi, pe) in enumerate(zip(imp, exp, strict=False)):
        t = start + i * STEP
        if t in grid:
            steps.append(Step(t, grid[t], battery.get(t, 0.0), pi, pe))
    lines = daily_savings(steps, STEP.total_seconds() / 3600, site.timezone or "UTC")
    return TelemetrySavings(lines, currency, steps=steps, grid_from=grid_from)
