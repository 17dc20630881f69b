"""Maintenance > Quarantine: the readings that were not stored, with their reasons, filtered,
downloaded and released; and the "Counter restarts" card of a device page (an htmx fragment
the page loads), where O&M records that a meter was replaced or reset."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select

from voltfleet.app.deps import DbSession, get_runtime, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, first_error, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import visible_sites
from voltfleet.app.telemetry import point_titles, quarantine, restarts
from voltfleet.app.telemetry.quarantine_table import quarantine_table
from voltfleet.app.telemetry.read_service import zone
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.telemetry.validate import Reason
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import QuarantinedReading
from voltfleet.usecases.errors import Invalid

router = APIRouter()
PAGE = 50
SITE_OPTIONS = 200
FIELDS = ("site_id", "device_id", "point", "reason", "since", "until")


def _day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{name}: '{text}' is not a date (YYYY-MM-DD)") from None


def _filters(args: dict[str, str]) -> quarantine.Filters:
    """The list's filters from the form: the readings' own days (UTC), ``until`` included."""
    since, until = _day(args["since"], "from"), _day(args["until"], "to")
    if args["reason"] and args["reason"] not in {r.value for r in Reason}:
        raise Invalid(f"unknown reason '{args['reason']}'")
    return quarantine.Filters(
        site_id=args["site_id"] or None,
        device_id=args["device_id"] or None,
        point=args["point"] or None,
        reason=args["reason"] or None,
        since=datetime.combine(since, time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
    )


def _args(**given: str) -> dict[str, str]:
    return {k: given.get(k, "").strip() for k in FIELDS}


@router.get("/maintenance/quarantine", response_class=HTMLResponse)
def quarantine_list(
    request: Request,
    session: DbSession,
    site_id: str = "",
    device_id: str = "",
    point: str = "",
    reason: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
    error: ErrorArg = None,
    notice: NoticeArg = None,
    refusals: list[quarantine.StillRefused] | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    args = _args(
        site_id=site_id, device_id=device_id, point=point, reason=reason, since=since, until=until
    )
    allowed = caller.can(Kind.DEVICE, Action.UPDATE)
    rows: list[QuarantinedReading] = []
    total = 0
    reasons: list[tuple[str, int]] = []
    if not allowed:
        error = error or "the quarantine is for O&M engineers and administrators"
    else:
        try:
            stmt = quarantine.query(caller, _filters(args))
            rows, total = paginate(session, stmt, PageParams(page=max(page, 1), page_size=PAGE))
            counted = stmt.order_by(None).subquery()
            reasons = [
                (str(r), int(n))
                for r, n in session.execute(
                    select(counted.c.reason, func.count()).group_by(counted.c.reason)
                )
            ]
        except Invalid as exc:  # a bad filter: shown on the page
            session.rollback()
            error = exc.message
    query = urlencode({k: v for k, v in args.items() if v})
    return render(
        request,
        "portal/quarantine.html",
        caller,
        rows=rows,
        total=total,
        page=page,
        page_size=PAGE,
        args=args,
        query=query,
        reasons=sorted(reasons, key=lambda x: -x[1]),
        all_reasons=[r.value for r in Reason],
        sites=list(session.scalars(visible_sites(caller).order_by(Site.name).limit(SITE_OPTIONS))),
        can_release=allowed,
        refusals=refusals or [],
        error=error,
        notice=notice,
    )


@router.get("/maintenance/quarantine.csv")
def quarantine_csv(
    request: Request,
    session: DbSession,
    site_id: str = "",
    device_id: str = "",
    point: str = "",
    reason: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    caller = require_caller(request, session)
    quarantine.require_om(caller)
    args = _args(
        site_id=site_id, device_id=device_id, point=point, reason=reason, since=since, until=until
    )
    stmt = quarantine.query(caller, _filters(args))
    return quarantine_table(session, stmt).download("quarantine.csv")


@router.post("/maintenance/quarantine/release", response_class=HTMLResponse)
def release_selected(
    request: Request,
    session: DbSession,
    csrf: Annotated[str, Form()],
    ids: Annotated[list[str] | None, Form()] = None,
    scope: Annotated[str, Form()] = "selected",
    site_id: Annotated[str, Form()] = "",
    device_id: Annotated[str, Form()] = "",
    point: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Release the ticked rows, or (``scope=matching``) every row the filters match."""
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    args = _args(
        site_id=site_id, device_id=device_id, point=point, reason=reason, since=since, until=until
    )

    def run() -> quarantine.ReleaseOut:
        if scope == "matching":
            f = _filters(args)
            body = quarantine.ReleaseIn(
                site_id=f.site_id,
                device_id=f.device_id,
                point=f.point,
                reason=Reason(f.reason) if f.reason else None,
                since=f.since,
                until=f.until,
            )
        else:
            if not ids:
                raise Invalid("tick the readings to release first")
            body = quarantine.ReleaseIn(ids=ids)
        return quarantine.release(session, caller, body, get_runtime(request).ingest)

    out, error = attempt(session, run)
    notice = None
    if out is not None:
        notice = (
            f"{out.matched} readings re-run: {out.stored} stored, {out.duplicates} already "
            f"stored, {out.still_refused} refused again (they stay here with their reason)."
            + (f" {out.remaining} more match: release again." if out.remaining else "")
        )
    return quarantine_list(
        request,
        session,
        **args,
        error=error,
        notice=notice,
        refusals=out.refusals[:20] if out else None,
    )


# ---- the device page's "Counter restarts" card ----------------------------------------------


def _restarts_card(
    request: Request,
    session: DbSession,
    device_id: str,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    tz_name = site.timezone if site else "UTC"
    rows = restarts.list_restarts(session, caller, device_id)
    held = 0
    if caller.can(Kind.DEVICE, Action.UPDATE):
        held = (
            session.scalar(
                select(func.count()).where(
                    QuarantinedReading.device_id == device.id,
                    QuarantinedReading.reason == Reason.COUNTER_RESET.value,
                )
            )
            or 0
        )
    return render(
        request,
        "portal/_counter_restarts.html",
        caller,
        device=device,
        restarts=rows,
        tz=zone(tz_name),
        tz_name=tz_name,
        counters=restarts.COUNTERS,
        counter_title=point_titles.name_title,
        can_edit=caller.can(Kind.DEVICE, Action.UPDATE),
        held=held,
        error=error,
        notice=notice,
    )


@router.get("/device/{device_id}/counter-restarts", response_class=HTMLResponse)
def counter_restarts(request: Request, session: DbSession, device_id: str) -> HTMLResponse:
    """htmx: the device page's Counter restarts card."""
    return _restarts_card(request, session, device_id)


@router.post("/device/{device_id}/counter-restarts", response_class=HTMLResponse)
def record_restart(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Annotated[str, Form()],
    point: Annotated[str, Form()],
    at: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    start_wh: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """``at`` is the site's local time (a datetime-local field)."""
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    try:
        local = datetime.fromisoformat(at.strip())
    except ValueError:
        return _restarts_card(request, session, device_id, error=f"'{at}' is not a date and time")
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(site.timezone if site else "UTC"))
    try:
        body = restarts.CounterRestartIn(
            point=point,
            at=local,
            reason=reason.strip(),
            start_wh=float(start_wh) if start_wh.strip() else 0.0,
        )
    except (ValidationError, ValueError) as exc:
        return _restarts_card(request, session, device_id, error=first_error(exc))
    now = request_now(request)
    row, error = attempt(session, lambda: restarts.record(session, caller, device_id, body, now))
    notice = None
    if row is not None:
        notice = f"Restart of {row.point} recorded; its roll-ups were recomputed."
    return _restarts_card(request, session, device_id, error=error, notice=notice)


@router.post(
    "/device/{device_id}/counter-restarts/{restart_id}/delete", response_class=HTMLResponse
)
def delete_restart(
    request: Request,
    session: DbSession,
    device_id: str,
    restart_id: str,
    csrf: Annotated[str, Form()],
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(session, lambda: restarts.delete(session, caller, device_id, restart_id))
    notice = None if error else "Restart removed; its roll-ups were recomputed."
    return _restarts_card(request, session, device_id, error=error, notice=notice)
