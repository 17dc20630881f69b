"""Site > Commissioning in the portal: the site's reports with status and progress (refreshed
while one is being made), create, update (regenerate), delete, send by email, open the PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from voltfleet.app.deps import DbSession, RuntimeDep, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.firmware import commissioning
from voltfleet.app.firmware.report_endpoints import queue
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.store.firmware_models import CommissioningReport
from voltfleet.store.fleet_models import Device

router = APIRouter()


@router.get("/site/{site_id}/commissioning", response_class=HTMLResponse)
def report_list(
    request: Request,
    session: DbSession,
    site_id: str,
    fragment: bool = False,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    reports = list(
        session.scalars(
            select(CommissioningReport)
            .where(CommissioningReport.site_id == site.id)
            .order_by(CommissioningReport.created_at.desc())
            .limit(100)
        )
    )
    devices = list(
        session.scalars(
            DeviceRepository(session, caller)
            .query()
            .where(Device.site_id == site.id, Device.kind.in_(commissioning.KINDS))
        )
    )
    busy = any(r.status in (commissioning.READING, commissioning.GENERATING) for r in reports)
    return render(
        request,
        "portal/_commissioning_rows.html" if fragment else "portal/commissioning.html",
        caller,
        site=site,
        path=request.url.path,
        reports=reports,
        devices=devices,
        busy=busy,
        can_manage=caller.can(Kind.DEVICE, Action.UPDATE),
        error=error,
        notice=notice,
    )


@router.post("/site/{site_id}/commissioning", response_class=HTMLResponse)
def report_create(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    site_id: str,
    csrf: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    device_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    now = request_now(request)
    row, error = attempt(
        session,
        lambda: commissioning.create(session, caller, site_id, name, email, device_ids, now),
    )
    if row is None:
        return report_list(request, session, site_id, error=error)
    report_id = row.id
    session.commit()
    queue(runtime, report_id)
    return RedirectResponse(f"/site/{site_id}/commissioning", 303)


@router.post("/site/{site_id}/commissioning/{report_id}/{op}", response_class=HTMLResponse)
def report_operate(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    site_id: str,
    report_id: str,
    op: str,
    csrf: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    notice = None

    def act() -> bool:
        if op == "update":
            commissioning.restart(commissioning.get(session, caller, report_id, Action.UPDATE))
        elif op == "delete":
            session.delete(commissioning.get(session, caller, report_id, Action.DELETE))
        elif op == "send":
            commissioning.send(
                session, caller, report_id, email, runtime.mailer, runtime.settings.public_base_url
            )
        return True

    done, error = attempt(session, act)
    if done and op == "update":
        session.commit()
        queue(runtime, report_id)
    if done and op == "send":
        notice = "Sent"
    if error or notice:
        if done:
            session.commit()
        return report_list(request, session, site_id, error=error, notice=notice)
    return RedirectResponse(f"/site/{site_id}/commissioning", 303)


@router.get("/site/{site_id}/commissioning/{report_id}.pdf")
def report_file(request: Request, session: DbSession, site_id: str, report_id: str) -> Response:
    from voltfleet.app.firmware.report_endpoints import report_pdf

    caller = require_caller(request, session)
    return report_pdf(session, caller, report_id)
