"""Device pages (the gateway and inverter lists are in app/device_lists/): device details with
rename, the live-data switch, moving a gateway to another site, and unbinding or deleting."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from markupsafe import escape
from pydantic import ValidationError
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession
from voltfleet.app.devices import service as device_service
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.devices.schemas import DeviceUpdate
from voltfleet.app.devices.views import device_views
from voltfleet.app.formatting import site_zone
from voltfleet.app.i18n import _
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.detail_pages import Csrf, short_error
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.telemetry.total_yield import inverter_total
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.fleet import DeviceKind, LiveData
from voltfleet.domain.telemetry.total_yield import TotalYield
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site

router = APIRouter()
PAGE = 25
MOVE_TARGETS = 50  # sites offered in the move picker at once; typing narrows the list


@router.get("/device/{device_id}", response_class=HTMLResponse)
def device_details(
    request: Request,
    session: DbSession,
    device_id: str,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    repo = DeviceRepository(session, caller)
    device = repo.get_for(device_id, Action.READ)
    view = device_views(session, [device])[0]
    children = device_views(
        session, [d for d in repo.of_site(device.site_id) if d.parent_id == device.id]
    )
    can_edit = caller.can(Kind.DEVICE, Action.UPDATE)
    movable = can_edit and device.parent_id is None
    return render(
        request,
        "portal/device.html",
        caller,
        device=view,
        children=children,
        can_edit=can_edit,
        can_delete=caller.can(Kind.DEVICE, Action.DELETE),  # the devices below a gateway
        movable=movable,
        targets=_move_targets(session, caller, device.site_id, "") if movable else [],
        supported=device.live_data == LiveData.SUPPORTED,
        can_upgrade=caller.can(Kind.FIRMWARE, Action.CREATE),
        site_zone=site_zone(session, device.site_id),  # one clock: the site's (issue 19)
        total_yield=_total_yield(session, device),
        error=error,
        notice=notice,
    )


def _move_targets(session: Session, caller: Caller, here: str, q: str) -> list[Any]:
    stmt = SiteRepository(session, caller).query(SiteFilters(q=q.strip() or None))
    return [s for s in session.scalars(stmt.limit(MOVE_TARGETS + 1)) if s.id != here][:MOVE_TARGETS]


@router.get("/device/{device_id}/move-targets", response_class=HTMLResponse)
def move_targets(request: Request, session: DbSession, device_id: str, q: str = "") -> HTMLResponse:
    """htmx: the options of the move picker, narrowed by part of the site name."""
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    sites = _move_targets(session, caller, device.site_id, q)
    if not sites:
        return HTMLResponse('<option value="">no other site matches</option>')
    return HTMLResponse(
        "".join(f'<option value="{escape(s.id)}">{escape(s.name)}</option>' for s in sites)
    )


def _update(
    request: Request, session: Session, device_id: str, data: DeviceUpdate, ok: str
) -> HTMLResponse:
    caller = require_caller(request, session)
    _done, error = attempt(
        session, lambda: device_service.update_device(session, caller, device_id, data)
    )
    return device_details(request, session, device_id, error=error, notice=None if error else ok)


@router.post("/device/{device_id}/rename", response_class=HTMLResponse)
def rename_device(
    request: Request, session: DbSession, device_id: str, csrf: Csrf, name: Annotated[str, Form()]
) -> HTMLResponse:
    require_caller(request, session)
    check_csrf(request, csrf)
    name = name.strip()
    if not name:
        return device_details(request, session, device_id, error=_("enter a name for the device"))
    try:
        data = DeviceUpdate(name=name)
    except ValidationError as exc:
        return device_details(request, session, device_id, error=short_error(exc))
    return _update(request, session, device_id, data, f"Renamed to {name}.")


@router.post("/device/{device_id}/live-data", response_class=HTMLResponse)
def switch_live_data(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Csrf,
    enabled: Annotated[str, Form()],
) -> HTMLResponse:
    require_caller(request, session)
    check_csrf(request, csrf)
    on = enabled == "yes"
    ok = "Live data enabled." if on else "Live data switched off."
    return _update(request, session, device_id, DeviceUpdate(live_data_enabled=on), ok)


@router.post("/device/{device_id}/move", response_class=HTMLResponse)
def move_device(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Csrf,
    site_id: Annotated[str, Form()] = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    if not site_id:
        return device_details(request, session, device_id, error=_("pick the site to move it to"))
    moved, error = attempt(
        session, lambda: device_service.move_device(session, caller, device_id, site_id)
    )
    notice = None
    if moved is not None:
        target = SiteRepository(session, caller).get(site_id)
        notice = f"{moved.serial} moved to {target.name}, with the devices below it."
    return device_details(request, session, device_id, error=error, notice=notice)


def _total_yield(session: Session, device: Device) -> TotalYield | None:
    """An inverter's total yield (lifetime counter, else since it joined); None for others."""
    site = session.get(Site, device.site_id)
    if device.kind != DeviceKind.INVERTER.value or site is None:
        return None
    return inverter_total(session, device, site)
