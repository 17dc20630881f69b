"""Portal: the gateway dashboard (counts that open the list filtered), the gateway list and the
inverter list with filters, a column chooser, pages and a CSV download of the same table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voltfleet.app import formatting
from voltfleet.app.deps import Caller, DbSession, request_now
from voltfleet.app.device_lists.columns import (
    GATEWAY_TYPES,
    STATUS_WORDS,
    Actions,
    Row,
    fresh_power,
    gateway_table,
    inverter_table,
)
from voltfleet.app.device_lists.summary import gateway_summary
from voltfleet.app.devices.repository import DeviceFilters, DeviceRepository
from voltfleet.app.devices.views import device_views
from voltfleet.app.i18n import gettext_noop as N_
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import csrf_for, require_caller
from voltfleet.app.tables import Table
from voltfleet.domain.access import Action, Kind
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.errors import Invalid

router = APIRouter(include_in_schema=False)
PAGE = 25
CSV_MAX = 50_000  # rows in one download; narrow the filters for more
STATUSES = ("online", "offline", "fault", "standby", "running", "unknown")
# The query parameters each list reads (the gateway list's "type" is 4G, Wi-Fi, Ethernet).
GATEWAY_PARAMS = (
    "status",
    "type",
    "model",
    "firmware",
    "firmware_version",
    "q",
    "serial",
    "live_data",
)
INVERTER_PARAMS = ("status", "model", "firmware", "q", "serial", "live_data")


@dataclass(frozen=True)
class ListKind:
    kind: str
    title: str
    path: str
    params: tuple[str, ...]
    table: Callable[[list[Row], Actions | None], Table[Row]]


GATEWAYS = ListKind("gateway", N_("Gateways"), "/site/gateways", GATEWAY_PARAMS, gateway_table)
INVERTERS = ListKind(
    "inverter", N_("Inverters"), "/site/inverters", INVERTER_PARAMS, inverter_table
)


def _statement(
    session: Session, caller: Caller, lk: ListKind, args: dict[str, str]
) -> Select[tuple[Device]]:
    gw_type = args.get("type") or None
    if gw_type and gw_type not in GATEWAY_TYPES:
        raise Invalid(f"type must be one of {', '.join(GATEWAY_TYPES)}")
    status = args.get("status") or None
    if status and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    filters = DeviceFilters(
        kind=lk.kind,
        subtype=gw_type,
        status=status,
        model=args.get("model") or None,
        firmware=args.get("firmware") or None,
        serial=args.get("serial") or None,
        q=args.get("q") or None,
        live_data=args.get("live_data") or None,
    )
    stmt = DeviceRepository(session, caller).query(filters)
    if "firmware_version" in args:  # the dashboard's link: exactly this version ("" for none)
        stmt = stmt.where(Device.fw_arm == args["firmware_version"])
    return stmt


def _rows(session: Session, devices: list[Device], now: Any) -> list[Row]:
    views = device_views(session, devices)
    below: dict[str, int] = {}
    gateways = [d.id for d in devices if d.kind == "gateway"]
    if gateways:
        below = dict(
            session.execute(  # type: ignore[arg-type]
                select(Device.parent_id, func.count())
                .where(Device.parent_id.in_(gateways), Device.deleted_at.is_(None))
                .group_by(Device.parent_id)
            ).all()
        )
    return [
        Row(view, fresh_power(d.pv_power_w, d.pv_power_at, now), below.get(d.id, 0))
        for d, view in zip(devices, views, strict=True)
    ]


def _args(request: Request, lk: ListKind) -> dict[str, str]:
    q = request.query_params
    return {
        k: q[k].strip() for k in lk.params if k in q and (q[k].strip() or k == "firmware_version")
    }


def _list(request: Request, session: Session, lk: ListKind) -> HTMLResponse:
    caller = require_caller(request, session)
    args = _args(request, lk)
    try:
        page = max(int(request.query_params.get("page", "1")), 1)
    except ValueError:
        page = 1
    error = None
    rows: list[Row] = []
    total = 0
    try:
        stmt = _statement(session, caller, lk, args)
        devices, total = paginate(session, stmt, PageParams(page=page, page_size=PAGE))
        rows = _rows(session, devices, request_now(request))
    except Invalid as exc:  # a bad filter: shown on the page
        error = exc.message
    can_update = caller.can(Kind.DEVICE, Action.UPDATE)
    actions = Actions(
        csrf=csrf_for(request),
        rename=can_update,
        distribute=can_update and lk.kind == "gateway",
        delete=caller.can(Kind.DEVICE, Action.DELETE) and lk.kind == "inverter",
    )
    query = urlencode(args)
    return render(
        request,
        "portal/device_list.html",
        caller,
        title=lk.title,
        kind=lk.kind,
        table=lk.table(rows, actions),
        total=total,
        page=page,
        page_size=PAGE,
        args=args,
        query=query,
        csv_url=f"{lk.path}.csv" + (f"?{query}" if query else ""),
        statuses=[(s, STATUS_WORDS[s]) for s in STATUSES],
        gateway_types=list(GATEWAY_TYPES.items()),
        user_id=caller.user.id,
        error=error,
    )


def _csv(request: Request, session: Session, lk: ListKind, filename: str) -> Response:
    caller = require_caller(request, session)
    caller.require(Kind.DEVICE, Action.LIST)
    formatting.use_user(caller.user, request.headers.get("accept-language"))
    stmt = _statement(session, caller, lk, _args(request, lk))
    devices = cast(list[Device], list(session.scalars(stmt.limit(CSV_MAX))))
    return lk.table(_rows(session, devices, request_now(request)), None).download(filename)


@router.get("/site/gateways", response_class=HTMLResponse)
def gateway_list(request: Request, session: DbSession) -> HTMLResponse:
    return _list(request, session, GATEWAYS)


@router.get("/site/gateways.csv")
def gateway_csv(request: Request, session: DbSession) -> Response:
    return _csv(request, session, GATEWAYS, "gateways.csv")


@router.get("/site/inverters", response_class=HTMLResponse)
def inverter_list(request: Request, session: DbSession) -> HTMLResponse:
    return _list(request, session, INVERTERS)


@router.get("/site/inverters.csv")
def inverter_csv(request: Request, session: DbSession) -> Response:
    return _csv(request, session, INVERTERS, "inverters.csv")


@router.get("/site/gateways/dashboard", response_class=HTMLResponse)
def gateway_dashboard(request: Request, session: DbSession) -> HTMLResponse:
    caller = require_caller(request, session)
    caller.require(Kind.DEVICE, Action.LIST)
    return render(
        request,
        "portal/gateway_dashboard.html",
        caller,
        summary=gateway_summary(session, caller),
        status_words=STATUS_WORDS,
        type_words=GATEWAY_TYPES,
        link=lambda **kv: "/site/gateways?" + urlencode(kv),
    )
