"""Portal "Settings" for an inverter (or battery, meter) and for a site: pick the device, quick
search by keyword, group search by register group, Read and Write (as commands). O&M engineers
and administrators only; owners are refused and never see the menu."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.registers import service
from voltfleet.app.sites.manage import manage_context
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, NotFound

router = APIRouter(include_in_schema=False)
SHOWN = 100  # registers on one page
SETTABLE = ("inverter", "battery", "meter")


def settable(devices: Iterable[Device]) -> list[Device]:
    """The devices whose registers can be set, inverters first."""
    return sorted(
        (d for d in devices if d.kind in SETTABLE), key=lambda d: (SETTABLE.index(d.kind), d.serial)
    )


def _page(
    request: Request,
    session: DbSession,
    device_id: str,
    *,
    site_id: str | None = None,
    q: str = "",
    group: str = "",
    error: str | None = None,
    notice: str | None = None,
    manage: dict[str, Any] | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    caller.require(Kind.DEVICE, Action.UPDATE)
    device, rmap, found = service.settings(session, caller, device_id, q[:100], group[:100])
    pending = session.scalars(
        select(Command.id).where(
            Command.device_id == device.id,
            Command.kind.in_(["register_read", "register_write"]),
            Command.state.in_(["queued", "sent"]),
        )
    ).all()
    siblings = settable(DeviceRepository(session, caller).of_site(device.site_id))
    return render(
        request,
        "portal/device_settings.html",
        caller,
        device=device,
        site_id=site_id,
        siblings=siblings,
        map_name=rmap.name,
        groups=rmap.groups(),
        rows=[(p, r, service.shown(p, r.value) if r else None) for p, r in found[:SHOWN]],
        total=len(found),
        q=q,
        group=group,
        pending=len(pending),
        can_upload=caller.can(Kind.REGISTER_MAP, Action.CREATE),
        error=error,
        notice=notice,
        manage=manage,
    )


@router.get("/device/{device_id}/settings", response_class=HTMLResponse)
def device_settings(
    request: Request,
    session: DbSession,
    device_id: str,
    q: str = "",
    group: str = "",
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    return _page(
        request, session, device_id, q=q, group=group, error=error or None, notice=notice or None
    )


@router.get("/site/{site_id}/settings", response_class=HTMLResponse)
def site_settings(
    request: Request,
    session: DbSession,
    site_id: str,
    device: str = "",
    q: str = "",
    group: str = "",
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    """The site's management (edit, distribute, share, delete) and its devices to pick from; the
    picked one's settings below."""
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    caller.require(Kind.DEVICE, Action.UPDATE)
    manage = manage_context(session, caller, site.id)
    devices = settable(DeviceRepository(session, caller).of_site(site.id))
    if not device and devices:
        device = devices[0].id
    if not device:
        return render(
            request,
            "portal/device_settings.html",
            caller,
            device=None,
            site_id=site.id,
            siblings=[],
            manage=manage,
            error=error or None,
            notice=notice or None,
        )
    return _page(
        request,
        session,
        device,
        site_id=site.id,
        q=q,
        group=group,
        error=error or None,
        notice=notice or None,
        manage=manage,
    )


def _back(request: Request, device_id: str, site_id: str, q: str, group: str) -> str:
    query = {k: v for k, v in {"q": q, "group": group}.items() if v}
    if site_id:
        query["device"] = device_id
        return f"/site/{site_id}/settings?{urlencode(query)}"
    return f"/device/{device_id}/settings?{urlencode(query)}"


def _act(
    request: Request,
    session: DbSession,
    device_id: str,
    site_id: str,
    q: str,
    group: str,
    action: str,
    key: str,
    value: str = "",
) -> Response:
    caller = require_caller(request, session)
    now = request_now(request)
    error = notice = None
    try:
        if action == "read":
            service.read(session, caller, device_id, [key], now=now)
            notice = f"Read of {key} sent"
        else:
            text = value.strip()
            try:
                parsed: float | str = float(text)
            except ValueError:
                parsed = text
            service.write(session, caller, device_id, key, parsed, now=now)
            notice = f"Write of {text} to {key} sent"
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        session.rollback()
        error = exc.message
    if request.headers.get("hx-request") != "true":
        where = _back(request, device_id, site_id, q, group)
        return notices.redirect(request, where, error=error, said=notice)
    return _page(
        request,
        session,
        device_id,
        site_id=site_id or None,
        q=q,
        group=group,
        error=error,
        notice=notice,
    )


@router.post("/device/{device_id}/settings/read", response_class=HTMLResponse)
def read_from_portal(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Annotated[str, Form()],
    key: Annotated[str, Form()],
    site_id: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
    group: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    return _act(request, session, device_id, site_id, q, group, "read", key)


@router.post("/device/{device_id}/settings/write", response_class=HTMLResponse)
def write_from_portal(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Annotated[str, Form()],
    key: Annotated[str, Form()],
    value: Annotated[str, Form()],
    site_id: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
    group: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    return _act(request, session, device_id, site_id, q, group, "write", key, value)


@router.post("/device/{device_id}/settings/map", response_class=HTMLResponse)
def upload_from_portal(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Annotated[str, Form()],
    file: UploadFile,
    site_id: Annotated[str, Form()] = "",
) -> Response:
    """An administrator's vendor map for the device's model, for the device's organisation."""
    check_csrf(request, csrf)
    caller = require_caller(request, session)
    error = notice = None
    try:
        device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
        if not device.model:
            raise Invalid("set the device's model first: a vendor map belongs to a model")
        site = SiteRepository(session, caller).get_for(device.site_id, Action.READ)
        raw = file.file.read(service.MAX_FILE_BYTES + 1)
        name = file.filename or "map.csv"
        fmt = "json" if name.lower().endswith(".json") else "csv"
        row = service.upload(
            session,
            caller,
            site.org_id,
            device.model,
            name,
            fmt,
            raw.decode("utf-8", "replace"),
            now=request_now(request),
        )
        notice = f"Map {name} for {device.model}: {len(row.parameters)} registers"
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        session.rollback()
        error = exc.message
    where = _back(request, device_id, site_id, "", "")
    return notices.redirect(request, where, error=error, said=notice)
