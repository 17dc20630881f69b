"""Portal "Mode" and "Intelligent load" of an inverter (the manual's function bar): the mode the
inverter reports, the forms that send ``work_mode``, ``intelligent_load`` and ``power_switch``
commands, and their history. O&M engineers and administrators send; owners look."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app.commands import service
from voltfleet.app.commands.device_page import device_commands, local_time
from voltfleet.app.commands.schemas import CommandIn
from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.work_modes import forms
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.work_modes import (
    LOAD_MODE_LABELS,
    MAX_SEASONS,
    WORK_MODE_LABELS,
    BaseMode,
    LoadMode,
    WorkMode,
    WorkModeError,
)
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, NotFound

router = APIRouter(include_in_schema=False)
KINDS = ("work_mode", "intelligent_load", "power_switch")
HISTORY = 15
TTL_S = 900  # a mode change waits a quarter of an hour for an offline gateway


@router.get("/device/{device_id}/mode", response_class=HTMLResponse)
def mode_page(
    request: Request,
    session: DbSession,
    device_id: str,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    device, site, zone, recent = device_commands(request, session, caller, device_id, KINDS)
    rows = recent[:HISTORY]

    def last(kind: str, *, acknowledged: bool) -> Any:
        return next(
            (
                r
                for r in recent
                if r.kind == kind and (not acknowledged or r.state == "acknowledged")
            ),
            None,
        )

    reported = last("work_mode", acknowledged=True)
    sent = last("work_mode", acknowledged=False)
    tou = (sent.params.get("tou") if sent is not None else None) or {}
    seasons = list(tou.get("seasons", []))
    seasons += [{}] * (MAX_SEASONS - len(seasons))
    load = last("intelligent_load", acknowledged=False)
    power = last("power_switch", acknowledged=True)
    return render(
        request,
        "portal/device_mode.html",
        caller,
        device=device,
        site=site,
        is_inverter=device.kind == "inverter",
        can_command=caller.can(Kind.DEVICE, Action.UPDATE),
        reported=reported,
        reported_at=local_time(reported.replied_at if reported else None, zone),
        sent=sent,
        modes=[(m.value, WORK_MODE_LABELS[m]) for m in WorkMode],
        base_modes=[m.value for m in BaseMode],
        tou=tou,
        seasons=[
            {
                **s,
                "weekday": forms.slots_text(s.get("weekday", [])),
                "weekend": forms.slots_text(s.get("weekend", [])),
            }
            for s in seasons
        ],
        load=load.params if load is not None else {"mode": "off"},
        load_state=load,
        load_modes=[(m.value, LOAD_MODE_LABELS[m]) for m in LoadMode],
        power=power,
        rows=rows,
        local=lambda at: local_time(at, zone),
        zone=str(zone),
        pending=any(r.state in ("queued", "sent") for r in rows),
        error=error,
        notice=notice,
    )


async def _send(
    request: Request, session: DbSession, device_id: str, kind: str, build: Any
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf", ""))
    caller = require_caller(request, session)
    error = ""
    try:
        params = build(form)
        body = CommandIn(kind=kind, params=params, ttl_s=TTL_S)
        service.create(session, caller, device_id, body, now=request_now(request))
    except WorkModeError as exc:
        error = str(exc)
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        session.rollback()
        error = exc.message
    return notices.redirect(
        request, f"/device/{device_id}/mode", notice="sent_to_inverter", error=error
    )


@router.post("/device/{device_id}/mode")
async def send_mode(request: Request, session: DbSession, device_id: str) -> Response:
    return await _send(request, session, device_id, "work_mode", forms.work_mode_params)


@router.post("/device/{device_id}/intelligent-load")
async def send_load(request: Request, session: DbSession, device_id: str) -> Response:
    return await _send(request, session, device_id, "intelligent_load", forms.load_form_params)


@router.post("/device/{device_id}/power")
async def send_power(request: Request, session: DbSession, device_id: str) -> Response:
    def build(form: dict[str, str]) -> dict[str, Any]:
        if form.get("on") not in ("true", "false"):
            raise WorkModeError("choose start or stop", "on")
        return {"on": form["on"] == "true"}

    return await _send(request, session, device_id, "power_switch", build)
