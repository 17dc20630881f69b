"""Portal: the command form and history on a battery's or hybrid inverter's page, and the
battery's day plan against its reported power on the site page (both htmx fragments)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from voltfleet.app.commands import plan_service, service
from voltfleet.app.commands.planning import STEP
from voltfleet.app.commands.repository import CommandRepository
from voltfleet.app.commands.schemas import CommandIn
from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.formatting import site_zone
from voltfleet.app.portal import notices
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.commands import TARGETS, BatteryMode, CommandKind
from voltfleet.store.plan_models import BatteryPlanRow
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, NotFound

router = APIRouter(include_in_schema=False)
HISTORY = 20


def _fragment(
    request: Request,
    session: DbSession,
    device_id: str,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    service.sweep(session, request_now(request), device_id=device.id)
    rows = session.scalars(
        CommandRepository(session, caller).of_device(device.id).limit(HISTORY)
    ).all()
    # htmx swaps the card in; a person who opens its address gets it inside the portal's layout
    fragment = request.headers.get("hx-request") == "true" or request.method != "GET"
    return render(
        request,
        "portal/_device_commands.html" if fragment else "portal/device_commands_page.html",
        caller,
        device=device,
        commands=rows,
        commandable=device.kind in TARGETS[CommandKind.BATTERY_MODE],
        can_command=caller.can(Kind.DEVICE, Action.UPDATE),
        modes=[m.value for m in BatteryMode],
        pending=any(r.state in ("queued", "sent") for r in rows),
        site_zone=site_zone(session, device.site_id),  # one clock: the site's (issue 19)
        error=error,
        notice=notice,
    )


@router.get("/device/{device_id}/commands", response_class=HTMLResponse)
def device_commands(request: Request, session: DbSession, device_id: str) -> HTMLResponse:
    return _fragment(request, session, device_id)


@router.post("/device/{device_id}/commands", response_class=HTMLResponse)
def send_from_portal(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Annotated[str, Form()],
    mode: Annotated[str, Form()],
    power_w: Annotated[str, Form()] = "",
    ttl_s: Annotated[str, Form()] = "300",
) -> Response:
    """The form: a mode, and a battery power (W) for charge (> 0) or discharge (< 0)."""
    check_csrf(request, csrf)
    caller = require_caller(request, session)
    error = notice = None
    params: dict[str, object] = {"mode": mode}
    try:
        if power_w.strip():
            params["battery_power_w"] = float(power_w)
        ttl = float(ttl_s or 300)
        body = CommandIn(kind="battery_mode", params=params, ttl_s=ttl)
        row = service.create(session, caller, device_id, body, now=request_now(request))
        notice = f"Command {row.params.get('mode')} queued"
    except ValueError:
        error = "power and time to live must be numbers (W, seconds)"
    except (Invalid, Conflict, Forbidden, NotFound) as exc:  # refused: said on the page
        session.rollback()
        error = exc.message
    if request.headers.get("hx-request") != "true":
        return notices.redirect(
            request, f"/device/{device_id}", notice="command_queued", error=error
        )
    return _fragment(request, session, device_id, error=error, notice=notice)


@router.get("/site/{site_id}/battery-plan/summary", response_class=HTMLResponse)
def battery_plan_summary(request: Request, session: DbSession, site_id: str) -> HTMLResponse:
    """htmx: the overview's card of the plan: when it was made, what it expects to cost against
    plain self-consumption and no battery, and what the battery is told now; the charts and the
    commands are on the Battery plan tab (the overview was a 4,900-pixel scroll with them)."""
    caller = require_caller(request, session)
    got = plan_service.plan_now(session, caller, site_id, request_now(request))
    return render(
        request,
        "portal/_battery_plan_summary.html",
        caller,
        site_id=site_id,
        made=got.plan,
        current=got.command,
        site_zone=got.zone,
    )


@router.get("/site/{site_id}/battery-plan", response_class=HTMLResponse)
def battery_plan(request: Request, session: DbSession, site_id: str) -> HTMLResponse:
    """The plan's commands (each an interval with a mode and power) over the last and next 12
    hours, the battery's mean reported power in each, and a chart of both."""
    caller = require_caller(request, session)
    now = request_now(request)
    start, end = now - timedelta(hours=12), now + timedelta(hours=12)
    got = plan_service.plan_vs_actual(session, caller, site_id, start, end, now=now)
    rows = []
    chart: dict[str, list[float | None]] = {"x": [], "plan": [], "actual": []}
    if got is not None:
        actual = [(r.start, r.value) for r in got.actual]
        for c in got.commands:
            if c.state == "expired" and c.message == "replaced by a newer plan":
                continue
            inside = [v for t, v in actual if c.not_before <= t < c.expires_at]
            planned = c.params.get("battery_power_w")
            rows.append(
                {
                    "command": c,
                    "planned_w": planned,
                    "actual_w": sum(inside) / len(inside) if inside else None,
                }
            )
        # the chart: the planned power as steps (None where self-consumption), actual 5-min means
        times = sorted({t for t, _ in actual} | {c["command"].not_before for c in rows})
        for t in times:
            plan_w = None
            for r in rows:
                c = r["command"]
                if c.not_before <= t < c.expires_at:
                    plan_w = r["planned_w"]
            chart["x"].append(t.timestamp())
            chart["plan"].append(plan_w)
            chart["actual"].append(next((v for at, v in actual if at == t), None))
    made = plan_service.latest_plan(session, caller, site_id, now)
    # the overview loads the card (htmx); opened as the Battery plan tab, it is a page
    hx = request.headers.get("hx-request") == "true"
    return render(
        request,
        "portal/_battery_plan.html" if hx else "portal/battery_plan.html",
        caller,
        site_id=site_id,
        plan=got,
        rows=rows,
        chart=json.dumps(chart),
        made=made,
        forecast=json.dumps(_forecast_chart(session, made, now)) if made else None,
        ledger=plan_service.battery_ledger(session, caller, site_id, now) if got else None,
        ledger_days=plan_service.LEDGER_DAYS,
        errors=plan_service.forecast_errors(session, caller, site_id, now) if made else None,
        currency=made.currency if made else "",
        site_zone=site_zone(session, site_id),  # one clock: the site's (issue 19)
    )


def _forecast_chart(session: Session, made: BatteryPlanRow, now: datetime) -> dict[str, object]:
    """The plan as made, step by step (prices, PV and load forecast, planned battery power and
    state of charge), with the state of charge the battery reported."""
    steps = made.steps
    n = len(steps["soc"])
    x = [(made.start + i * STEP).timestamp() for i in range(n)]
    soc = plan_service.measured_soc(
        session, made.device_id, made.start, min(now, made.start + n * STEP)
    )
    by_quarter: dict[float, list[float]] = {}
    for r in soc:
        by_quarter.setdefault(r.start.timestamp() // 900 * 900, []).append(r.value)
    return {
        "x": x,
        "import": steps["import_price"],
        "export": steps["export_price"],
        "pv": steps["pv_w"],
        "load": steps["load_w"],
        "battery": steps["battery_w"],
        "soc": [round(v * 100, 2) for v in steps["soc"]],
        "soc_measured": [
            round(sum(v) / len(v) * 100, 2) if (v := by_quarter.get(t)) else None for t in x
        ],
    }
