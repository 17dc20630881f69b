"""Maintenance > Alarms: the alarm list with its filters, acknowledging, the CSV download; and
the active alarms of one site (a fragment the site page loads)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voltfleet.app.alarms.repository import AlarmFilters, alarm_table, out
from voltfleet.app.alarms.service import repository
from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.pagination import PageParams, window
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import SiteRepository, visible_sites
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.alarms import CATALOGUE, Severity
from voltfleet.store.models import Site
from voltfleet.usecases import alarms as usecase
from voltfleet.usecases.errors import Invalid

router = APIRouter()
PAGE = 25
SITE_OPTIONS = 200  # sites offered in the filter at once
FIELDS = ("severity", "status", "site_id", "code", "since", "until")


def _day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{name}: '{text}' is not a date (YYYY-MM-DD)") from None


def _filters(args: dict[str, str]) -> AlarmFilters:
    """The list's filters from the form; days are whole UTC days, ``until`` included."""
    since, until = _day(args["since"], "from"), _day(args["until"], "to")
    return AlarmFilters(
        site_id=args["site_id"] or None,
        severity=args["severity"] or None,
        status=args["status"] or "active",
        code=args["code"] or None,
        since=datetime.combine(since, time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
    )


@router.get("/maintenance")
def maintenance() -> Response:
    return RedirectResponse("/maintenance/alarms", 303)


@router.get("/maintenance/alarms", response_class=HTMLResponse)
def alarm_list(
    request: Request,
    session: DbSession,
    severity: str = "",
    status: str = "active",
    site_id: str = "",
    code: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    args = {
        "severity": severity,
        "status": status,
        "site_id": site_id,
        "code": code,
        "since": since,
        "until": until,
    }
    rows, total = [], 0
    repo = repository(session, caller)
    try:
        offset, limit = window(PageParams(page=max(page, 1), page_size=PAGE))
        found, total = usecase.list_alarms(repo, caller, _filters(args), offset=offset, limit=limit)
        rows = out(found)
    except Invalid as exc:  # a bad filter: shown on the page
        session.rollback()
        error = exc.message
    query = urlencode({k: v for k, v in args.items() if v})
    return render(
        request,
        "portal/alarms.html",
        caller,
        alarms=rows,
        total=total,
        page=page,
        page_size=PAGE,
        args=args,
        query=query,
        back=f"{query}&page={page}" if query else f"page={page}",
        sites=list(session.scalars(visible_sites(caller).order_by(Site.name).limit(SITE_OPTIONS))),
        severities=[s.value for s in Severity],
        codes=sorted(CATALOGUE),
        can_acknowledge=caller.can(Kind.DEVICE, Action.UPDATE),
        error=error,
        notice=notice,
    )


@router.get("/maintenance/alarms.csv")
def alarm_list_csv(
    request: Request,
    session: DbSession,
    severity: str = "",
    status: str = "active",
    site_id: str = "",
    code: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    caller = require_caller(request, session)
    args = {
        "severity": severity,
        "status": status,
        "site_id": site_id,
        "code": code,
        "since": since,
        "until": until,
    }
    rows = out(usecase.all_alarms(repository(session, caller), _filters(args)))
    return alarm_table(rows).download("alarms.csv")


@router.post("/maintenance/alarms/{alarm_id}/acknowledge")
def acknowledge(
    request: Request,
    session: DbSession,
    alarm_id: str,
    csrf: Annotated[str, Form()],
    back: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    now = request_now(request)
    repo = repository(session, caller)
    alarm, error = attempt(session, lambda: usecase.acknowledge(repo, caller, alarm_id, now))
    if alarm is None:
        return alarm_list(request, session, error=error)
    return RedirectResponse(f"/maintenance/alarms?{back}" if back else "/maintenance/alarms", 303)


@router.get("/site/{site_id}/alarms", response_class=HTMLResponse)
def site_alarms(request: Request, session: DbSession, site_id: str) -> HTMLResponse:
    """The site's active alarms (the site page loads this into its Alarms card)."""
    caller = require_caller(request, session)
    SiteRepository(session, caller).get_for(site_id, Action.READ)
    repo = repository(session, caller)
    filters = AlarmFilters(site_id=site_id, status="active")
    rows = out(usecase.all_alarms(repo, filters))
    return render(request, "portal/_site_alarms.html", caller, alarms=rows, site_id=site_id)
