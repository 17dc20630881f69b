"""Maintenance > Alarms (the fleet-wide list), a site's Alarm tab and a device's Alarm tab: one
filtered list (site, device serial, level, free text in the alarm info, status, a day range in a
chosen time zone), its CSV download, acknowledging; and the site's active alarms as a fragment
for the site's overview (an htmx request for ``/site/{id}/alarms``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.alarms import notify_pages
from voltfleet.app.alarms.repository import AlarmFilters, alarm_table, out, translated_titles
from voltfleet.app.alarms.service import repository
from voltfleet.app.alarms.zones import day, day_range, shown, user_zone, zone
from voltfleet.app.deps import Caller, DbSession, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.pagination import PageParams, window
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import SiteRepository, visible_sites
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.alarms import LEVEL_MEANING, Level
from voltfleet.store.models import Site
from voltfleet.usecases import alarms as usecase
from voltfleet.usecases.errors import Invalid

router = APIRouter()
PAGE = 25
SITE_OPTIONS = 200  # sites offered in the filter at once
FIELDS = ("level", "severity", "status", "site_id", "serial", "q", "code", "since", "until", "tz")


@dataclass
class Scope:
    """Where a list is shown: fleet-wide, or fixed to one site or one device."""

    base: str  # the list's own URL
    zone: str  # the default zone
    site_id: str | None = None
    device_id: str | None = None
    fixed: dict[str, str] = field(default_factory=dict)


def _args(request: Request) -> dict[str, str]:
    q = request.query_params
    args = {k: (q.get(k) or "").strip()[:100] for k in FIELDS}
    args["status"] = args["status"] or "active"
    return args


def _filters(args: dict[str, str], scope: Scope) -> tuple[AlarmFilters, str]:
    """The list's filters from the form, and the zone its days are read and times shown in."""
    tz = zone(args["tz"], scope.zone)
    since, until = day_range(day(args["since"], "from"), day(args["until"], "to"), tz)
    return (
        AlarmFilters(
            site_id=scope.site_id or args["site_id"] or None,
            device_id=scope.device_id,
            severity=args["severity"] or None,
            status=args["status"],
            code=args["code"] or None,
            since=since,
            until=until,
            level=args["level"] or None,
            serial=args["serial"] or None,
            text=args["q"] or None,
            titles=translated_titles(),
        ),
        tz,
    )


def _zones(session: Session, caller: Caller, *chosen: str) -> list[str]:
    """The zones offered: UTC, the reader's, those of their sites, and the one chosen."""
    sites = session.scalars(
        visible_sites(caller).with_only_columns(Site.timezone).distinct().limit(50)
    )
    return sorted({"UTC", user_zone(caller.user), *sites, *(z for z in chosen if z)})


def _list(
    request: Request,
    session: Session,
    caller: Caller,
    scope: Scope,
    template: str,
    page: int,
    **context: Any,
) -> HTMLResponse:
    args = _args(request)
    page = max(page, 1)
    rows, total, error, tz = [], 0, context.pop("error", None), scope.zone
    repo = repository(session, caller)
    try:
        filters, tz = _filters(args, scope)
        offset, limit = window(PageParams(page=page, page_size=PAGE))
        found, total = usecase.list_alarms(repo, caller, filters, offset=offset, limit=limit)
        rows = out(found)
    except Invalid as exc:  # a bad filter: shown on the page
        session.rollback()
        error = exc.message
    query = urlencode({k: v for k, v in args.items() if v})
    sites = []
    if scope.site_id is None:
        sites = list(session.scalars(visible_sites(caller).order_by(Site.name).limit(SITE_OPTIONS)))
    return render(
        request,
        template,
        caller,
        alarms=rows,
        total=total,
        page=page,
        page_size=PAGE,
        args=args,
        query=query,
        base=scope.base,
        back=f"{query}&page={page}" if query else f"page={page}",
        sites=sites,
        fixed_site=scope.site_id is not None,
        levels=[(lvl.value, LEVEL_MEANING[lvl]) for lvl in Level],
        zone=tz,
        zones=_zones(session, caller, tz),
        when=lambda instant: shown(instant, tz),
        can_acknowledge=caller.can(Kind.DEVICE, Action.UPDATE),
        error=error,
        **context,
    )


def _csv(request: Request, session: Session, caller: Caller, scope: Scope) -> Response:
    filters, tz = _filters(_args(request), scope)
    rows = out(usecase.all_alarms(repository(session, caller), filters))
    return alarm_table(rows, tz).download("alarms.csv")


@router.get("/maintenance")
def maintenance() -> Response:
    return RedirectResponse("/maintenance/alarms", 303)


def _fleet(caller: Caller) -> Scope:
    return Scope(base="/maintenance/alarms", zone=user_zone(caller.user))


@router.get("/maintenance/alarms", response_class=HTMLResponse)
def alarm_list(
    request: Request,
    session: DbSession,
    page: int = 1,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    scope = _fleet(caller)
    return _list(
        request, session, caller, scope, "portal/alarms.html", page, error=error, notice=notice
    )


@router.get("/maintenance/alarms.csv")
def alarm_list_csv(request: Request, session: DbSession) -> Response:
    caller = require_caller(request, session)
    return _csv(request, session, caller, _fleet(caller))


@router.post("/maintenance/alarms/{alarm_id}/acknowledge")
def acknowledge(
    request: Request,
    session: DbSession,
    alarm_id: str,
    csrf: Annotated[str, Form()],
    back: Annotated[str, Form()] = "",
    to: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    now = request_now(request)
    repo = repository(session, caller)
    alarm, error = attempt(session, lambda: usecase.acknowledge(repo, caller, alarm_id, now))
    if alarm is None:
        return alarm_list(request, session, error=error)  # the fleet list, with the refusal
    base = to if to.startswith(("/site/", "/device/")) and "//" not in to else "/maintenance/alarms"
    return RedirectResponse(f"{base}?{back}" if back else base, 303)


def _site_scope(session: Session, caller: Caller, site_id: str) -> tuple[Scope, Site]:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return Scope(base=f"/site/{site.id}/alarms", zone=zone(site.timezone), site_id=site.id), site


@router.get("/site/{site_id}/alarms", response_class=HTMLResponse)
def site_alarms(request: Request, session: DbSession, site_id: str, page: int = 1) -> HTMLResponse:
    """The site's Alarm tab; for the overview's htmx request, its active alarms alone."""
    caller = require_caller(request, session)
    scope, site = _site_scope(session, caller, site_id)
    if request.headers.get("hx-request") == "true":
        filters = AlarmFilters(site_id=site.id, status="active")
        rows = out(usecase.all_alarms(repository(session, caller), filters))
        return render(
            request,
            "portal/_site_alarms.html",
            caller,
            alarms=rows,
            site_id=site.id,
            when=lambda instant: shown(instant, scope.zone),
        )
    return _list(request, session, caller, scope, "portal/site_alarms.html", page, site=site)


@router.get("/site/{site_id}/alarms.csv")
def site_alarms_csv(request: Request, session: DbSession, site_id: str) -> Response:
    caller = require_caller(request, session)
    scope, _site = _site_scope(session, caller, site_id)
    return _csv(request, session, caller, scope)


def _device_scope(session: Session, caller: Caller, device_id: str) -> tuple[Scope, object]:
    device = DeviceRepository(session, caller).get(device_id)
    site_zone = session.scalar(select(Site.timezone).where(Site.id == device.site_id)) or "UTC"
    scope = Scope(
        base=f"/device/{device.id}/alarms",
        zone=zone(site_zone),
        site_id=device.site_id,
        device_id=device.id,
    )
    return scope, device


@router.get("/device/{device_id}/alarms", response_class=HTMLResponse)
def device_alarms(
    request: Request, session: DbSession, device_id: str, page: int = 1
) -> HTMLResponse:
    """A device's Alarm tab: the same list, fixed to the device."""
    caller = require_caller(request, session)
    scope, device = _device_scope(session, caller, device_id)
    return _list(request, session, caller, scope, "portal/device_alarms.html", page, device=device)


@router.get("/device/{device_id}/alarms.csv")
def device_alarms_csv(request: Request, session: DbSession, device_id: str) -> Response:
    caller = require_caller(request, session)
    scope, _device = _device_scope(session, caller, device_id)
    return _csv(request, session, caller, scope)


# Maintenance > Notifications (app/alarms/notify_pages.py).
router.include_router(notify_pages.router)
