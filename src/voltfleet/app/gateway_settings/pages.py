"""Portal "Gateway settings" of a gateway (the manual's Gateway > Settings): one form per
setting (protocol, forwarding serial port, TCP forwarding, upload interval, baud rate, reset),
each sent as a command through the commands service, the values the gateway reported in its
last acknowledgement, what waits for it, and the history. O&M engineers and administrators send
(the access policy's device update); everyone who may read the gateway looks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app.commands import service
from voltfleet.app.commands.device_page import device_commands, local_time
from voltfleet.app.commands.schemas import CommandIn
from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.gateway_settings import forms
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.domain import gateway_settings as gs
from voltfleet.domain.access import Action, Kind
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, NotFound

router = APIRouter(include_in_schema=False)
HISTORY = 15
TTL_S = 900  # a setting waits a quarter of an hour for an offline gateway
# the URL segment of each form -> its command kind
SECTIONS = {
    "protocol": "gateway_protocol",
    "serial-forwarding": "serial_forwarding",
    "tcp-forwarding": "tcp_forwarding",
    "upload-interval": "upload_interval",
    "baud-rate": "gateway_baud_rate",
    "reset": "gateway_reset",
    "auto-detect": "scan",  # the manual's Intellisense: the gateway scans its bus (discovery)
}
KINDS = (*gs.GATEWAY_SETTING_KINDS, "scan")


def _applied(row: Any) -> dict[str, Any]:
    """The values a gateway reported applying (its reply's ``applied``; else what was sent)."""
    result = row.result if isinstance(row.result, dict) else {}
    applied = result.get("applied")
    if isinstance(applied, dict):
        return applied
    return dict(result) if row.kind == "scan" else dict(row.params)  # a scan: what it found


@router.get("/device/{device_id}/gateway-settings", response_class=HTMLResponse)
def settings_page(
    request: Request,
    session: DbSession,
    device_id: str,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    device, site, zone, rows = device_commands(request, session, caller, device_id, KINDS)
    reported: dict[str, dict[str, Any]] = {}
    reported_at: dict[str, str] = {}
    pending: dict[str, Any] = {}
    for r in rows:  # newest first: the first of each kind wins
        if r.state == "acknowledged" and r.kind not in reported:
            reported[r.kind] = _applied(r)
            reported_at[r.kind] = local_time(r.replied_at, zone)
        if r.state in ("queued", "sent") and r.kind not in pending:
            pending[r.kind] = r
    protocol_rows = list(reported.get("gateway_protocol", {}).get("devices", []))
    protocol_rows += [{}] * (8 - len(protocol_rows))
    return render(
        request,
        "portal/gateway_settings.html",
        caller,
        device=device,
        site=site,
        is_gateway=device.kind == "gateway",
        can_command=caller.can(Kind.DEVICE, Action.UPDATE),
        reported=reported,
        reported_at=reported_at,
        pending=pending,
        protocol_rows=protocol_rows,
        rows=rows[:HISTORY],
        protocols=gs.PROTOCOLS,
        forward_protocols=gs.FORWARD_PROTOCOLS,
        tcp_protocols=gs.TCP_PROTOCOLS,
        baud_rates=gs.BAUD_RATES,
        parities=gs.PARITIES,
        stop_bits=gs.STOP_BITS,
        port_types=gs.PORT_TYPES,
        intervals=gs.UPLOAD_INTERVALS_S,
        local=lambda at: local_time(at, zone),
        zone=str(zone),
        waiting=bool(pending),
        error=error,
        notice=notice,
    )


@router.post("/device/{device_id}/gateway-settings/{section}")
async def send_setting(
    request: Request, session: DbSession, device_id: str, section: str
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf", ""))
    caller = require_caller(request, session)
    kind = SECTIONS.get(section)
    if kind is None:
        raise NotFound("setting")
    error = ""
    try:
        params = forms.BUILDERS[kind](form)
        if kind in gs.CHECKS:
            params = gs.check(kind, params)  # refused here: nothing is queued
        body = CommandIn(kind=kind, params=params, ttl_s=TTL_S)
        service.create(session, caller, device_id, body, now=request_now(request))
    except gs.GatewaySettingError as exc:
        error = str(exc)
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        session.rollback()
        error = exc.message
    return notices.redirect(
        request, f"/device/{device_id}/gateway-settings", notice="sent_to_gateway", error=error
    )
