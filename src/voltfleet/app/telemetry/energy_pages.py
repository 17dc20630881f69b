"""Energy bars in the portal: a site's (PV yield, consumption, grid import and export, battery
charge and discharge, self-consumption and self-sufficiency) and a device's own counters, for a
day by hour, a month by day, a year by month, or all years; with the earlier and later period,
a picker of the site's devices, and CSV downloads (the API's CSV under the portal's session).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app import formatting
from voltfleet.app.deps import Caller, DbSession, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.i18n import gettext, gettext_noop
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.telemetry import read_service as rs
from voltfleet.app.telemetry import read_tables
from voltfleet.app.telemetry.pages import day_or_today, today
from voltfleet.domain.access import Action
from voltfleet.domain.telemetry.energy import Period
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Invalid

router = APIRouter()
N_ = gettext_noop

PERIOD_TITLES = {"day": N_("Day"), "month": N_("Month"), "year": N_("Year"), "total": N_("Total")}
BAR_TITLES = {"day": N_("Hour"), "month": N_("Day"), "year": N_("Month"), "total": N_("Year")}
# the bar in a sentence ("kWh per hour"; German capitalises its nouns: "kWh je Stunde")
BAR_WORDS = {"day": N_("hour"), "month": N_("day"), "year": N_("month"), "total": N_("year")}
# Colours of the bars, shared by the site's balance and a device's counters.
COLORS = {
    "pv": "#e0a800",
    "consumption": "#2e86c1",
    "import": "#c0392b",
    "export": "#0a7d5a",
    "charge": "#8e44ad",
    "discharge": "#d35400",
    "ev": "#10202e",
}
COUNTER_COLORS = {
    "pv_energy_wh": COLORS["pv"],
    "load_energy_wh": COLORS["consumption"],
    "grid_import_energy_wh": COLORS["import"],
    "grid_export_energy_wh": COLORS["export"],
    "battery_charge_energy_wh": COLORS["charge"],
    "battery_discharge_energy_wh": COLORS["discharge"],
    "ev_energy_wh": COLORS["ev"],
}
# marked for the catalogue, translated when a page is drawn (counter_titles)
COUNTER_TITLES = {
    "pv_energy_wh": N_("PV yield"),
    "lifetime_yield_wh": N_("Total yield"),  # the inverter's lifetime counter
    "load_energy_wh": N_("Consumption"),
    "grid_import_energy_wh": N_("Grid import"),
    "grid_export_energy_wh": N_("Grid export"),
    "battery_charge_energy_wh": N_("Battery charge"),
    "battery_discharge_energy_wh": N_("Battery discharge"),
    "ev_energy_wh": N_("EV charging"),
}


def counter_titles() -> dict[str, str]:
    """The counters' names in the reader's language ("PV-Ertrag"; were English on German pages,
    and the lifetime counter was 'lifetime_yield_wh')."""
    return {name: gettext(title) for name, title in COUNTER_TITLES.items()}


def kwh(wh: float) -> float:
    return round(wh / 1000.0, 3)


def _period(text: str) -> tuple[Period, str | None]:
    if text in Period.__members__.values():
        return Period(text), None
    return Period.DAY, f"period '{text}' is not one of {', '.join(p.value for p in Period)}"


def step(period: Period, day: date, by: int) -> date | None:
    """The day ``by`` periods from ``day`` (the same day of the month or year where it exists,
    else the last one); None for the total, which has no neighbours."""
    if period is Period.DAY:
        return date.fromordinal(day.toordinal() + by)
    if period is Period.MONTH:
        index = day.year * 12 + day.month - 1 + by
        year, month = divmod(index, 12)
        return _clamped(year, month + 1, day.day)
    if period is Period.YEAR:
        return _clamped(day.year + by, day.month, day.day)
    return None


def _clamped(year: int, month: int, day: int) -> date:
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


def _neighbours(period: Period, day: date, tz_name: str, now: datetime) -> dict[str, date | None]:
    """The earlier and later period to link to (no later one past today)."""
    earlier = step(period, day, -1)
    later = step(period, day, +1)
    if earlier is not None and earlier < rs.FIRST_DAY:
        earlier = None
    if later is not None and later > today(tz_name, now):
        later = None
    return {"earlier": earlier, "later": later}


def _shown_window(period: Period, day: date, labels: list[str]) -> str:
    """What the bars cover, as the reader names it: 2026-05-04, 2026-05, 2026, 2024 to 2026
    (04.05.2026, 05.2026, 2026, 2024 bis 2026 for a German reader)."""
    if period is Period.DAY:
        return formatting.local_date(day)
    if period is Period.MONTH:
        return formatting.current().month_text(day)
    if period is Period.YEAR:
        return str(day.year)
    if len(labels) > 1:
        return gettext("%(start)s to %(end)s") % {"start": labels[0], "end": labels[-1]}
    return "".join(labels)


def _choice(session: DbSession, caller: Caller, site_id: str) -> list[Device]:
    """The site's devices that have sent energy counters, for the device picker."""
    return rs.with_energy(session, DeviceRepository(session, caller).of_site(site_id))


def _chosen(period: str, day: str, tz_name: str, now: datetime) -> tuple[Period, date, str | None]:
    """The period and day asked for (today, the day, by default) and what is wrong with them."""
    chosen, error = _period(period)
    chosen_day, day_error = day_or_today(day, tz_name, now)
    return chosen, chosen_day, error or day_error


def _page(
    request: Request,
    caller: Caller,
    template: str,
    *,
    site: Site,
    device: Device | None,
    devices: list[Device],
    chosen: Period,
    chosen_day: date,
    chart: dict[str, Any],
    base: str,
    error: str | None,
    **extra: Any,
) -> HTMLResponse:
    """An energy page: the bars' chart, the period tabs, the earlier and later period."""
    return render(
        request,
        template,
        caller,
        site=site,
        device=device,
        devices=devices,
        period=chosen,
        periods=PERIOD_TITLES,
        bar_title=BAR_TITLES[chosen.value],
        bar_word=BAR_WORDS[chosen.value],
        day=chosen_day,
        chart_json=json.dumps(chart),
        shown_window=_shown_window(chosen, chosen_day, chart["labels"]),
        base=base,
        kwh=kwh,
        error=error,
        status_code=200 if error is None else 400,
        **_neighbours(chosen, chosen_day, site.timezone, request_now(request)),
        **extra,
    )


# ---- a site -------------------------------------------------------------------------------------

_BALANCE = (
    ("PV yield", "pv", "pv_wh"),
    ("Consumption", "consumption", "consumption_wh"),
    ("Grid import", "import", "import_wh"),
    ("Grid export", "export", "export_wh"),
    ("Battery charge", "charge", "charge_wh"),
    ("Battery discharge", "discharge", "discharge_wh"),
)


@router.get("/site/{site_id}/energy", response_class=HTMLResponse)
def site_energy(
    request: Request, session: DbSession, site_id: str, period: str = "day", day: str = ""
) -> HTMLResponse:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    now = request_now(request)
    chosen, chosen_day, error = _chosen(period, day, site.timezone, now)
    e = None if error else rs.energy_of(session, site, chosen, chosen_day, now=now)
    chart: dict[str, Any] = {"labels": [], "series": []}
    if e is not None:
        chart = {
            "labels": [b.label for b in e.bars],
            "series": [
                {
                    "label": label,
                    "color": COLORS[key],
                    "values": [kwh(getattr(b.balance, attr)) for b in e.bars],
                }
                for label, key, attr in _BALANCE
            ],
        }
    return _page(
        request,
        caller,
        "portal/site_energy.html",
        site=site,
        device=None,
        devices=_choice(session, caller, site.id),
        chosen=chosen,
        chosen_day=chosen_day,
        chart=chart,
        base=f"/site/{site.id}/energy",
        error=error,
        energy=e,
        table=None if e is None else read_tables.energy_table(e, BAR_TITLES[chosen.value]),
        pct=read_tables.pct_page,
    )


@router.get("/site/{site_id}/energy.csv")
def site_energy_csv(
    request: Request, session: DbSession, site_id: str, period: str = "day", day: str = ""
) -> Response:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    now = request_now(request)
    chosen, chosen_day, error = _chosen(period, day, site.timezone, now)
    if error:
        raise Invalid(error)
    e = rs.energy_of(session, site, chosen, chosen_day, now=now)
    return read_tables.energy_table(e).download(f"energy-{chosen.value}-{chosen_day}.csv")


# ---- a device -----------------------------------------------------------------------------------


def _device_and_site(
    request: Request, session: DbSession, device_id: str
) -> tuple[Caller, Device, Site]:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    return caller, device, site


@router.get("/device/{device_id}/energy", response_class=HTMLResponse)
def device_energy(
    request: Request, session: DbSession, device_id: str, period: str = "day", day: str = ""
) -> HTMLResponse:
    caller, device, site = _device_and_site(request, session, device_id)
    now = request_now(request)
    chosen, chosen_day, error = _chosen(period, day, site.timezone, now)
    e = None if error else rs.device_energy(session, caller, device.id, chosen, chosen_day, now=now)
    chart: dict[str, Any] = {"labels": [], "series": []}
    titles = counter_titles()
    if e is not None:
        chart = {
            "labels": [b.label for b in e.bars],
            "series": [
                {
                    "label": titles.get(p.name, p.name),
                    "color": COUNTER_COLORS.get(p.name, COLORS["ev"]),
                    "values": [kwh(b.wh[p.name]) for b in e.bars],
                }
                for p in e.points
            ],
        }
    return _page(
        request,
        caller,
        "portal/device_energy.html",
        site=site,
        device=device,
        devices=_choice(session, caller, site.id),
        chosen=chosen,
        chosen_day=chosen_day,
        chart=chart,
        base=f"/device/{device.id}/energy",
        error=error,
        energy=e,
        table=None
        if e is None
        else read_tables.device_energy_table(e, BAR_TITLES[chosen.value], titles),
        titles=titles,
    )


@router.get("/device/{device_id}/energy.csv")
def device_energy_csv(
    request: Request, session: DbSession, device_id: str, period: str = "day", day: str = ""
) -> Response:
    caller, device, site = _device_and_site(request, session, device_id)
    now = request_now(request)
    chosen, chosen_day, error = _chosen(period, day, site.timezone, now)
    if error:
        raise Invalid(error)
    e = rs.device_energy(session, caller, device.id, chosen, chosen_day, now=now)
    name = f"energy-{device.serial}-{chosen.value}-{chosen_day}.csv"
    return read_tables.device_energy_table(e).download(name)
