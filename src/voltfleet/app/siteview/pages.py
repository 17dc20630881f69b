"""The overview's live parts: the power-flow picture (polled every live interval) and the
site's weather of the last seven days."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from voltfleet.app.deps import DbSession, RuntimeDep, request_now
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.siteview.flow import power_flow
from voltfleet.app.siteview.savings import DAYS, telemetry_savings
from voltfleet.app.siteview.weather import weather_card
from voltfleet.app.telemetry import live_service
from voltfleet.domain.access import Action
from voltfleet.store.fleet_models import Device

router = APIRouter()


@router.get("/site/{site_id}/flow", response_class=HTMLResponse)
def site_flow(
    request: Request, session: DbSession, runtime: RuntimeDep, site_id: str
) -> HTMLResponse:
    """htmx: the power-flow picture now (the overview asks again every live interval)."""
    caller = require_caller(request, session)
    settings = runtime.settings
    live = live_service.site_live(session, caller, site_id, settings, request_now(request))
    kinds = set(
        session.scalars(select(Device.kind).where(Device.site_id == live.site_id).distinct())
    )
    flow = power_flow(live, kinds, settings.offline_after_s)
    return render(
        request,
        "portal/_power_flow.html",
        caller,
        site_id=live.site_id,
        flow=flow,
        measured=flow.measured_at,
        zone=live.timezone,
        interval_s=settings.live_interval_s,
    )


@router.get("/site/{site_id}/weather", response_class=HTMLResponse)
def site_weather(
    request: Request, session: DbSession, runtime: RuntimeDep, site_id: str
) -> HTMLResponse:
    """htmx: the weather card (its source may be a remote service, so it loads on its own)."""
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    card = weather_card(site, runtime.weather, request_now(request))
    return render(request, "portal/_site_weather.html", caller, site=site, weather=card)


@router.get("/sites/{site_id}/savings/telemetry", response_class=HTMLResponse)
def site_telemetry_savings(request: Request, session: DbSession, site_id: str) -> HTMLResponse:
    """htmx: the savings page's card of the last days from the site's own telemetry: paid with
    the battery against without it (docs/siteview.md says how)."""
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    result = telemetry_savings(session, site, request_now(request))
    return render(
        request, "portal/_telemetry_savings.html", caller, site=site, result=result, days=DAYS
    )
