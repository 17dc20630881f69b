"""The portal's charger card on a site page: each charger with its connectors' status and the
session running on them (energy so far, power). An htmx fragment, refreshed by the page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from voltfleet.app.charging.repository import ChargingRepository, SessionFilters
from voltfleet.app.deps import DbSession
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action
from voltfleet.domain.fleet import DeviceKind
from voltfleet.store.fleet_models import Connector

router = APIRouter(include_in_schema=False)


@router.get("/site/{site_id}/chargers", response_class=HTMLResponse)
def site_chargers(request: Request, session: DbSession, site_id: str) -> HTMLResponse:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    chargers = [
        d
        for d in DeviceRepository(session, caller).of_site(site.id)
        if d.kind == DeviceKind.CHARGER
    ]
    connectors: dict[str, list[Connector]] = {}
    if chargers:
        for c in session.scalars(
            select(Connector)
            .where(Connector.charger_id.in_([d.id for d in chargers]))
            .order_by(Connector.connector_no)
        ):
            connectors.setdefault(c.charger_id, []).append(c)
    repo = ChargingRepository(session, caller)
    running = repo.views(list(session.scalars(repo.query(SessionFilters(site.id, active=True)))))
    active = {(s.device_id, s.connector_id): s for s in running}
    return render(
        request,
        "portal/_chargers.html",
        caller,
        chargers=chargers,
        connectors=connectors,
        active=active,
        site_zone=site.timezone,  # one clock: the site's (issue 19)
    )
