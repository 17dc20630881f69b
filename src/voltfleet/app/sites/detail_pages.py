"""The site overview and what is done on it: edit, picture, statistical range, status for a
chosen day, share (and withdraw, or remove a site shared to you from your list), distribute,
delete; and binding devices by hand or from a CSV file, with the per-row report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession, RuntimeDep, request_now
from voltfleet.app.devices import service as device_service
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.devices.schemas import DeviceIn
from voltfleet.app.devices.views import device_views, topology
from voltfleet.app.i18n import gettext as _
from voltfleet.app.orgs.repository import visible_orgs
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites import service
from voltfleet.app.sites.endpoints import PICTURE_MAX_BYTES, PICTURE_TYPES
from voltfleet.app.sites.repository import SiteRepository, visible_sites
from voltfleet.app.sites.schemas import SiteUpdate, StatisticalRangeIn
from voltfleet.app.telemetry.total_yield import site_totals
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import Org, Site, SiteShare

router = APIRouter()
Csrf = Annotated[str, Form()]


def short_error(exc: ValidationError) -> str:
    """A form's first validation error, as 'field: message'."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ()))
    return f"{field}: {first.get('msg', '')}"


@router.get("/site/{site_id}", response_class=HTMLResponse)
def site_overview(
    request: Request,
    session: DbSession,
    site_id: str,
    error: ErrorArg = None,
    notice: NoticeArg = None,
    report: Any = None,
    day: str = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    site_row = SiteRepository(session, caller).get_for(site_id, Action.READ)
    site = service.site_views(session, caller, [site_row])[0]
    rows = DeviceRepository(session, caller).of_site(site_id)
    shared_in = site.shared
    return render(
        request,
        "portal/site.html",
        caller,
        site=site,
        devices=device_views(session, rows),
        tree=topology(session, site_row, rows),
        my_shares=_my_shares(session, caller, site_row) if shared_in else [],
        stats=service.statistical_range(session, caller, site_id),
        total_yield=site_totals(session, [site_row])[site_row.id],
        day_status=_day_status(session, caller, site_id, day, request_now(request)),
        can_edit=caller.can(Kind.SITE, Action.UPDATE),
        can_leave=caller.can(Kind.SITE, Action.DELETE) and shared_in,
        can_devices=caller.can(Kind.DEVICE, Action.CREATE),
        report=report,
        error=error,
        notice=notice,
    )


def site_settings_page(
    request: Request,
    session: Session,
    site_id: str,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    """The Settings tab, where a site's management forms answer (registers/pages.py)."""
    from voltfleet.app.registers.pages import site_settings  # (registers.pages: sites.manage)

    return site_settings(request, session, site_id, error=error or "", notice=notice or "")


def _my_shares(session: Session, caller: Caller, site: Site) -> list[str]:
    """For a site shared to the caller: the ids of the caller's organisations holding a share."""
    mine = visible_orgs(caller).with_only_columns(Org.id)
    return list(
        session.scalars(
            select(SiteShare.org_id).where(SiteShare.site_id == site.id, SiteShare.org_id.in_(mine))
        )
    )


def _day_status(
    session: Session, caller: Caller, site_id: str, day: str, now: datetime
) -> dict[str, Any]:
    """The site's status for a chosen local day (today when none), or why the day is refused."""
    chosen = None
    if day.strip():
        try:
            chosen = date.fromisoformat(day.strip())
        except ValueError:
            return {"error": f"'{day}' is not a date: use YYYY-MM-DD", "day": day, "result": None}
    result = service.day_status(session, caller, site_id, chosen, now=now)
    counts: dict[str, int] = {}
    for d in result.devices:
        for status in set(d.statuses):
            counts[status] = counts.get(status, 0) + 1
    return {"error": None, "day": result.day.isoformat(), "result": result, "counts": counts}


@router.get("/site/{site_id}/day-status", response_class=HTMLResponse)
def day_status(request: Request, session: DbSession, site_id: str, day: str = "") -> HTMLResponse:
    """htmx: the status card for another day."""
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return render(
        request,
        "portal/_site_day.html",
        caller,
        site=site,
        day_status=_day_status(session, caller, site_id, day, request_now(request)),
    )


def back_to_site(
    request: Request, session: Session, site_id: str, outcome: tuple[Any, str | None], ok: str
) -> HTMLResponse:
    _done, error = outcome
    return site_overview(request, session, site_id, error=error, notice=None if error else ok)


def back_to_settings(
    request: Request, session: Session, site_id: str, outcome: tuple[Any, str | None], ok: str
) -> HTMLResponse:
    _done, error = outcome
    return site_settings_page(request, session, site_id, error=error, notice=None if error else ok)


@router.post("/site/{site_id}/edit", response_class=HTMLResponse)
def edit_site(
    request: Request,
    session: DbSession,
    site_id: str,
    csrf: Csrf,
    name: Annotated[str, Form()],
    address: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
    capacity_kwp: Annotated[str, Form()] = "0",
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    try:
        data = SiteUpdate.model_validate(
            {
                "name": name,
                "address": address,
                "country": country.strip().upper(),
                "region": region,
                "timezone": timezone or None,
                "capacity_kwp": capacity_kwp or 0,
            }
        )
    except ValidationError as exc:
        return site_settings_page(request, session, site_id, error=short_error(exc))
    outcome = attempt(session, lambda: service.update_site(session, caller, site_id, data))
    return back_to_settings(request, session, site_id, outcome, _("Site saved."))


@router.post("/site/{site_id}/share", response_class=HTMLResponse)
def share_site(
    request: Request,
    session: DbSession,
    site_id: str,
    csrf: Csrf,
    org_id: Annotated[str, Form()] = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    if not org_id.strip():
        return site_settings_page(
            request, session, site_id, error=_("pick the organisation to share with")
        )
    outcome = attempt(session, lambda: service.share(session, caller, site_id, org_id.strip()))
    org = session.get(Org, org_id.strip())
    ok = _("Site shared with %(name)s.") % {"name": org.name} if org else _("Site shared.")
    return back_to_settings(request, session, site_id, outcome, ok)


@router.post("/site/{site_id}/distribute", response_class=HTMLResponse)
def distribute_site(
    request: Request,
    session: DbSession,
    site_id: str,
    csrf: Csrf,
    user_id: Annotated[str, Form()] = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    outcome = attempt(
        session, lambda: service.distribute(session, caller, site_id, user_id or None)
    )
    return back_to_settings(request, session, site_id, outcome, _("Owner changed."))


@router.post("/site/{site_id}/deletion-code", response_class=HTMLResponse)
def deletion_code(
    request: Request, session: DbSession, runtime: RuntimeDep, site_id: str, csrf: Csrf
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    to, error = attempt(
        session, lambda: service.request_deletion_code(session, runtime, caller, site_id)
    )
    return site_settings_page(
        request,
        session,
        site_id,
        error=error,
        notice=None
        if error
        else _("A code was mailed to the owner (%(to)s): enter it to delete.") % {"to": to},
    )


@router.post("/site/{site_id}/delete", response_class=HTMLResponse)
def delete_site(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    site_id: str,
    csrf: Csrf,
    code: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(
        session, lambda: service.delete_site(session, runtime, caller, site_id, code or None)
    )
    if error:
        return site_settings_page(request, session, site_id, error=error)
    return notices.redirect(request, "/site", notice="site_deleted")


@router.post("/site/{site_id}/shares/{org_id}/remove", response_class=HTMLResponse)
def remove_share(
    request: Request, session: DbSession, site_id: str, org_id: str, csrf: Csrf
) -> Response:
    """The sharer withdraws a share, or the receiver removes the site from its list."""
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    repo = SiteRepository(session, caller)
    receiver = repo.is_shared_in(repo.get(site_id))
    _done, error = attempt(session, lambda: service.unshare(session, caller, site_id, org_id))
    if error:
        return site_overview(request, session, site_id, error=error)
    if receiver:
        session.flush()
        still_visible = session.scalar(
            visible_sites(caller).with_only_columns(Site.id).where(Site.id == site_id)
        )
        if still_visible is None:
            return notices.redirect(request, "/site", notice="site_removed")
        return site_overview(request, session, site_id, notice=_("Removed from your list."))
    org = session.get(Org, org_id)
    return site_settings_page(
        request,
        session,
        site_id,
        notice=_("No longer shared with %(name)s.") % {"name": org.name if org else org_id},
    )


@router.post("/site/{site_id}/picture", response_class=HTMLResponse)
def upload_picture(
    request: Request, session: DbSession, site_id: str, csrf: Csrf, file: UploadFile
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    data = file.file.read(PICTURE_MAX_BYTES + 1)
    error = None
    if not data:
        error = "choose a picture to upload"
    elif file.content_type not in PICTURE_TYPES:
        error = "the picture must be a PNG, JPEG, WebP or GIF image"
    elif len(data) > PICTURE_MAX_BYTES:
        error = "the picture must be at most 2 MB"
    if error:
        return site_overview(request, session, site_id, error=error)
    media = str(file.content_type)
    outcome = attempt(session, lambda: service.set_picture(session, caller, site_id, data, media))
    return back_to_site(request, session, site_id, outcome, _("Picture saved."))


@router.get("/site/{site_id}/picture")
def site_picture(request: Request, session: DbSession, site_id: str) -> Response:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    if not site.picture_type:
        return Response(status_code=404)
    return Response(
        site.picture or b"", media_type=site.picture_type, headers={"Cache-Control": "no-cache"}
    )


@router.post("/site/{site_id}/statistics", response_class=HTMLResponse)
def statistical_range(
    request: Request,
    session: DbSession,
    site_id: str,
    csrf: Csrf,
    inverters: Annotated[str, Form()] = "",
    meters: Annotated[str, Form()] = "",
    listed: Annotated[list[str] | None, Form()] = None,
    counted: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """The site switches for inverters and meters, and one per device; a device listed on the
    form and not ticked is left out of the statistics."""
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    ticked = set(counted or [])
    data = StatisticalRangeIn(
        inverters=inverters == "yes",
        meters=meters == "yes",
        devices={d: d in ticked for d in listed or []},
    )
    outcome = attempt(
        session, lambda: service.set_statistical_range(session, caller, site_id, data)
    )
    return back_to_site(request, session, site_id, outcome, _("Statistical range saved."))


@router.post("/site/{site_id}/devices", response_class=HTMLResponse)
def add_device(
    request: Request,
    session: DbSession,
    site_id: str,
    csrf: Csrf,
    kind: Annotated[str, Form()],
    serial: Annotated[str, Form()],
    subtype: Annotated[str, Form()] = "",
    parent_serial: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    comm_address: Annotated[str, Form()] = "",
    registration_no: Annotated[str, Form()] = "",
    fw_arm: Annotated[str, Form()] = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    try:
        data = DeviceIn.model_validate(
            {
                "kind": kind,
                "serial": serial.strip(),
                "subtype": subtype.strip().lower() or None,
                "parent_serial": parent_serial.strip() or None,
                "name": name.strip(),
                "model": model.strip(),
                "comm_address": comm_address.strip() or None,
                "registration_no": registration_no.strip(),
                "fw_arm": fw_arm.strip(),
            }
        )
    except ValidationError as exc:
        return site_overview(request, session, site_id, error=short_error(exc))
    outcome = attempt(session, lambda: device_service.add_device(session, caller, site_id, data))
    return back_to_site(
        request,
        session,
        site_id,
        outcome,
        _("%(kind)s %(serial)s bound.") % {"kind": _(data.kind.title()), "serial": serial},
    )


@router.post("/site/{site_id}/import", response_class=HTMLResponse)
def import_devices(
    request: Request, session: DbSession, site_id: str, csrf: Csrf, file: UploadFile
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    content = file.file.read(device_service.IMPORT_MAX_BYTES + 1)
    report, error = attempt(
        session, lambda: device_service.import_devices(session, caller, site_id, content)
    )
    notice = f"{report.added} added, {report.refused} refused." if report else None
    return site_overview(request, session, site_id, error=error, notice=notice, report=report)


@router.post("/device/{device_id}/delete", response_class=HTMLResponse)
def delete_device(request: Request, session: DbSession, device_id: str, csrf: Csrf) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    device = DeviceRepository(session, caller).get(device_id)
    site_id = device.site_id
    now = request_now(request)
    outcome = attempt(
        session, lambda: device_service.delete_device(session, caller, device_id, now)
    )
    return back_to_site(
        request, session, site_id, outcome, _("%(serial)s removed.") % {"serial": device.serial}
    )
