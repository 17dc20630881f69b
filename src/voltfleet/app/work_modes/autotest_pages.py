"""Portal "AutoTest" of an inverter at an Italian site: the test conditions confirmed and the
agreement accepted, the start (an ``autotest`` command), the run's progress, and the report the
platform judged from the inverter's trip values (domain/autotest.py), also as CSV."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app.commands import service
from voltfleet.app.commands.device_page import local_time
from voltfleet.app.commands.repository import CommandRepository
from voltfleet.app.commands.schemas import CommandIn
from voltfleet.app.deps import Caller, DbSession, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.i18n import _
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.tables import csv_download, csv_text
from voltfleet.domain import autotest
from voltfleet.domain.access import Action, Kind
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, NotFound

router = APIRouter(include_in_schema=False)
TTL_S = 3600  # an hour for an offline gateway to pick the test up


def _context(
    session: DbSession, caller: Caller, device_id: str
) -> tuple[Device, Site | None, ZoneInfo, list[Command]]:
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    zone = ZoneInfo(site.timezone if site else "UTC")
    runs = [
        r
        for r in session.scalars(
            CommandRepository(session, caller).of_device(device.id).limit(200)
        ).all()
        if r.kind == "autotest"
    ]
    return device, site, zone, runs


@router.get("/device/{device_id}/autotest", response_class=HTMLResponse)
def autotest_page(
    request: Request,
    session: DbSession,
    device_id: str,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    service.sweep(session, request_now(request), device_id=device_id)
    device, site, zone, runs = _context(session, caller, device_id)
    done = next((r for r in runs if r.state == "acknowledged"), None)
    results = autotest.judge_report(done.result or {}) if done is not None else []
    return render(
        request,
        "portal/device_autotest.html",
        caller,
        device=device,
        available=device.kind == "inverter"
        and site is not None
        and autotest.available_in(site.country),
        country=site.country if site else "",
        can_start=caller.can(Kind.DEVICE, Action.UPDATE),
        conditions=autotest.CONDITIONS,
        standard=autotest.STANDARD,
        running=next((r for r in runs if r.state in ("queued", "sent")), None),
        last=runs[0] if runs else None,
        done=done,
        results=results,
        passed=bool(results) and all(r.passed for r in results),
        local=lambda at: local_time(at, zone),
        zone=str(zone),
        error=error,
        notice=notice,
    )


@router.post("/device/{device_id}/autotest")
async def start_autotest(request: Request, session: DbSession, device_id: str) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    caller = require_caller(request, session)
    error = ""
    try:
        device, _site, _zone, runs = _context(session, caller, device_id)
        if any(r.state in ("queued", "sent") for r in runs):
            raise autotest.AutoTestError(_("A test is already running on this inverter."))
        autotest.check_conditions(
            {str(k) for k in form.getlist("condition")}, form.get("agreement") == "on"
        )
        body = CommandIn(kind="autotest", params={"standard": autotest.STANDARD}, ttl_s=TTL_S)
        service.create(session, caller, device.id, body, now=request_now(request))
    except autotest.AutoTestError as exc:
        error = str(exc)
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        session.rollback()
        error = exc.message
    return notices.redirect(
        request, f"/device/{device_id}/autotest", notice="autotest_sent", error=error
    )


@router.get("/device/{device_id}/autotest.csv")
def autotest_csv(request: Request, session: DbSession, device_id: str) -> Response:
    caller = require_caller(request, session)
    device, _site, zone, runs = _context(session, caller, device_id)
    done = next((r for r in runs if r.state == "acknowledged"), None)
    if done is None:
        raise NotFound("autotest report")
    rows: list[list[Any]] = [
        [
            r.step.code,
            r.step.name,
            r.step.unit,
            round(r.step.threshold, 3),
            r.value,
            r.step.max_time_s,
            r.time_s,
            "pass" if r.passed else "fail",
            r.reason,
        ]
        for r in autotest.judge_report(done.result or {})
    ]
    header = [
        "protection",
        "name",
        "unit",
        "threshold",
        "trip value",
        "time limit (s)",
        "trip time (s)",
        "result",
        "reason",
    ]
    finished = local_time(done.replied_at, zone)
    text = f"# {autotest.STANDARD} AutoTest of {device.serial}, finished {finished}\n"
    return csv_download(text + csv_text(header, rows), f"autotest-{device.serial}.csv")
