"""Upgrade in the portal: firmware releases (list, filters, upload, download), upgrade tasks
(list, a new task with its device picker, details, pause / resume / cancel / delete), and each
device's Upgrade tab. The same services as the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voltfleet.app.deps import DbSession, RuntimeDep, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.firmware import releases, signing, tasks
from voltfleet.app.firmware.endpoints import (
    device_firmware_out,
    file_response,
    schedule,
    task_detail,
)
from voltfleet.app.firmware.repository import FirmwareRepository
from voltfleet.app.i18n import _
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import visible_sites
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.firmware import releases as fr
from voltfleet.store.firmware_repository import current_version
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Invalid

router = APIRouter()
PAGE = 10  # devices per picker page, as the manual shows
TYPES = [(t, fr.label(t)) for t in fr.GATEWAY_TYPES + fr.CHARGER_TYPES + fr.INVERTER_TYPES]


def _tab(tab: str) -> str:
    """gateway, inverter, or charger (OCPP UpdateFirmware: reached as ?tab=charger)."""
    return tab if tab in ("gateway", "inverter", "charger") else "gateway"


@router.get("/upgrade")
def upgrade() -> Response:
    return RedirectResponse("/upgrade/releases", 303)


@router.get("/upgrade/releases", response_class=HTMLResponse)
def release_list(
    request: Request,
    session: DbSession,
    tab: str = "gateway",
    model: str = "",
    version: str = "",
    uploaded: str = "",
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    caller.require(Kind.FIRMWARE, Action.LIST)
    tab = _tab(tab)
    views = releases.listing(
        session, caller, device_kind=tab, model=model or None, version=version or None
    )
    if notice == notices.notice_of("release_uploaded"):  # name it, if the caller sees it
        for v in views:
            if uploaded and v.row.id == uploaded:
                notice = _("Release %(model)s %(version)s uploaded") % {
                    "model": v.row.model,
                    "version": v.row.version,
                }
    return render(
        request,
        "portal/firmware_releases.html",
        caller,
        views=views,
        tab=tab,
        args={"model": model, "version": version},
        types=[t for t in TYPES if fr.device_kind_of(t[0]) == tab],
        label=fr.label,
        can_upload=caller.can(Kind.FIRMWARE, Action.CREATE),
        error=error,
        notice=notice,
    )


@router.post("/upgrade/releases", response_class=HTMLResponse)
def release_upload(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()] = "",
    firmware_type: Annotated[str, Form()] = "gateway",
    version: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    signature: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    limit = min(fr.MAX_FILE_BYTES, runtime.settings.max_request_body_bytes)
    data = file.file.read(limit + 1)
    up = releases.Upload(
        model=model,
        firmware_type=firmware_type.strip().lower(),
        version=version,
        description=description,
        file_name=file.filename or "",
        content=data,
        signature=signature,
    )
    key = signing.public_key(runtime.settings.firmware_signing_key)
    row, error = attempt(
        session,
        lambda: releases.upload(
            session, caller, up, signing_key=key, now=request_now(request), max_bytes=limit
        ),
    )
    try:
        tab = _tab(fr.device_kind_of(firmware_type))
    except fr.ReleaseError:
        tab = "gateway"
    if row is None:
        return release_list(request, session, tab=tab, error=error)
    # The notice names the release the list shows (by its id), never text from the link.
    return notices.redirect(
        request,
        f"/upgrade/releases?{urlencode({'tab': tab, 'uploaded': row.id})}",
        notice="release_uploaded",
    )


@router.get("/upgrade/releases/{release_id}/file")
def release_file(request: Request, session: DbSession, release_id: str) -> Response:
    caller = require_caller(request, session)
    return file_response(session, FirmwareRepository(session, caller).release(release_id))


@router.get("/upgrade/tasks", response_class=HTMLResponse)
def task_list(
    request: Request,
    session: DbSession,
    tab: str = "gateway",
    model: str = "",
    version: str = "",
    page: int = 1,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    tab = _tab(tab)
    stmt = tasks.query(caller, device_kind=tab, model=model or None, version=version or None)
    rows, total = paginate(session, stmt, PageParams(page=max(page, 1), page_size=20))
    stats = tasks.stats_of(session, [t.id for t in rows])
    return render(
        request,
        "portal/firmware_tasks.html",
        caller,
        rows=[(t, stats[t.id], tasks.reservation_shown(t)) for t in rows],
        total=total,
        page=page,
        tab=tab,
        args={"model": model, "version": version},
        label=fr.label,
        can_manage=caller.can(Kind.FIRMWARE, Action.CREATE),
        error=error,
        notice=notice,
    )


@router.get("/upgrade/tasks/new", response_class=HTMLResponse)
def task_new(
    request: Request,
    session: DbSession,
    release_id: str = "",
    site_id: str = "",
    status: str = "",
    version: str = "",
    serial: str = "",
    page: int = 1,
    tab: str = "gateway",
    error: ErrorArg = None,
) -> HTMLResponse:
    """The new task's form: a release, then its devices from a paged list with filters."""
    caller = require_caller(request, session)
    caller.require(Kind.FIRMWARE, Action.CREATE)
    tab = _tab(tab)
    choices = releases.listing(session, caller, device_kind=tab)
    release = None
    devices: list[tuple[object, str, str]] = []
    total = 0
    if release_id:
        release = FirmwareRepository(session, caller).release(release_id)
        stmt = tasks.candidates(
            session,
            caller,
            release,
            site_id=site_id or None,
            status=status or None,
            version=version or None,
            serial=serial or None,
        )
        found, total = paginate(session, stmt, PageParams(page=max(page, 1), page_size=PAGE))
        names = dict(
            session.execute(
                visible_sites(caller)
                .with_only_columns(Site.id, Site.name)
                .where(Site.id.in_({d.site_id for d in found}))
            ).all()
        )
        devices = [
            (d, current_version(session, d, release.firmware_type), names.get(d.site_id, ""))
            for d in found
        ]
    args = {
        "release_id": release_id,
        "site_id": site_id,
        "status": status,
        "version": version,
        "serial": serial,
        "tab": tab,
    }
    return render(
        request,
        "portal/firmware_task_new.html",
        caller,
        tab=tab,
        choices=choices,
        release=release,
        devices=devices,
        total=total,
        page=page,
        page_size=PAGE,
        args=args,
        query=urlencode({k: v for k, v in args.items() if v}),
        sites=list(session.scalars(visible_sites(caller).order_by(Site.name).limit(200))),
        error=error,
    )


def _reserved(text: str, zone: str) -> datetime | None:
    """A reservation typed in the site's local time (``YYYY-MM-DDTHH:MM``)."""
    if not text.strip():
        return None
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"'{text}' is not a date and time") from None
    return local.replace(tzinfo=ZoneInfo(zone)) if local.tzinfo is None else local


@router.post("/upgrade/tasks", response_class=HTMLResponse)
def task_create(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form()],
    release_id: Annotated[str, Form()],
    device_ids: Annotated[list[str] | None, Form()] = None,
    reservation: Annotated[str, Form()] = "no",
    start_at: Annotated[str, Form()] = "",
    first_wave: Annotated[str, Form()] = "",
    error_threshold_percent: Annotated[str, Form()] = "",
    confirm_downgrade: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    now = request_now(request)
    ids = device_ids or []

    def create() -> object:
        zone = "UTC"
        if ids:
            device = DeviceRepository(session, caller).get(ids[0])
            site = session.get(Site, device.site_id)
            zone = site.timezone if site else "UTC"
        start = _reserved(start_at, zone) if reservation == "yes" else None
        if reservation == "yes" and start is None:
            raise Invalid(_("give the reserved time, or choose no reservation"))
        policy: dict[str, object] = {}
        try:
            if first_wave.strip():
                policy["first_wave"] = int(first_wave)
            if error_threshold_percent.strip():
                policy["error_threshold"] = float(error_threshold_percent) / 100
        except ValueError:
            raise Invalid(_("the first wave and the error threshold are numbers")) from None
        return tasks.create(
            session,
            caller,
            tasks.NewTask(release_id, ids, start, policy, confirm_downgrade == "yes"),
            now,
        )

    task, error = attempt(session, create)
    if task is None:
        return task_new(request, session, release_id=release_id, error=error)
    assert isinstance(task, tasks.FirmwareTask)
    task_id = task.id
    session.commit()
    schedule(runtime, task, now)
    return RedirectResponse(f"/upgrade/tasks/{task_id}", 303)


@router.get("/upgrade/tasks/{task_id}", response_class=HTMLResponse)
def task_details(
    request: Request, session: DbSession, task_id: str, error: ErrorArg = None
) -> HTMLResponse:
    caller = require_caller(request, session)
    task = FirmwareRepository(session, caller).task(task_id)
    detail = task_detail(session, task)
    return render(
        request,
        "portal/firmware_task.html",
        caller,
        task=detail,
        reservation=tasks.reservation_shown(task),
        label=fr.label,
        can_manage=caller.can(Kind.FIRMWARE, Action.UPDATE),
        error=error,
    )


@router.post("/upgrade/tasks/{task_id}/{op}", response_class=HTMLResponse)
def task_operate(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    task_id: str,
    op: str,
    csrf: Annotated[str, Form()],
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    now = request_now(request)
    if op == "delete":
        _done, error = attempt(session, lambda: tasks.delete(session, caller, task_id))
        if error:
            return task_details(request, session, task_id, error=error)
        return notices.redirect(request, "/upgrade/tasks", notice="task_deleted")
    got, error = attempt(session, lambda: tasks.operate(session, caller, task_id, op, now))
    if got is None:
        return task_details(request, session, task_id, error=error)
    session.commit()
    if op == "resume":
        schedule(runtime, got, now)
    return RedirectResponse(f"/upgrade/tasks/{task_id}", 303)


@router.get("/device/{device_id}/upgrade", response_class=HTMLResponse)
def device_upgrade(request: Request, session: DbSession, device_id: str) -> HTMLResponse:
    """The device's Upgrade tab: the versions it reported and its upgrade history."""
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    caller.require(Kind.FIRMWARE, Action.READ)
    return render(
        request,
        "portal/firmware_device.html",
        caller,
        device=device,
        info=device_firmware_out(session, device),
        label=fr.label,
    )
