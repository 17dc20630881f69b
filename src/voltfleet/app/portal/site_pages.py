"""Site pages: the site list (search, remembered columns), creation wizard, site overview with its
devices, topology and CSV import, the gateway and inverter lists, and device details."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession, RuntimeDep
from voltfleet.app.devices import service as device_service
from voltfleet.app.devices.repository import DeviceFilters, DeviceRepository
from voltfleet.app.devices.schemas import DeviceIn
from voltfleet.app.devices.views import device_views, topology
from voltfleet.app.errors import ApiError
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites import service
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.sites.schemas import SiteCreate, SiteUpdate
from voltfleet.app.users.repository import UserRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.store.fleet_models import UserPreference

router = APIRouter()
Csrf = Annotated[str, Form()]
PAGE = 25

# The site list's optional columns (name is always shown), in order, with their headings.
COLUMNS = {
    "status": "Status",
    "site_type": "Type",
    "region": "Country / region",
    "capacity": "Capacity",
    "owner": "Owner",
    "company": "Company",
    "devices": "Devices",
    "created": "Created",
}
DEFAULT_COLUMNS = ["status", "site_type", "region", "capacity", "owner", "devices"]


def _columns(session: Session, caller: Caller) -> list[str]:
    pref = session.scalar(
        select(UserPreference).where(
            UserPreference.user_id == caller.user.id, UserPreference.key == "site_columns"
        )
    )
    if pref is None or not isinstance(pref.value, list):
        return list(DEFAULT_COLUMNS)
    return [c for c in COLUMNS if c in pref.value]


def _short(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ()))
    return f"{field}: {first.get('msg', '')}"


@router.get("/site", response_class=HTMLResponse)
def site_list(
    request: Request,
    session: DbSession,
    q: str = "",
    serial: str = "",
    registration_no: str = "",
    account: str = "",
    country: str = "",
    status: str = "",
    org_id: str = "",
    sort: str = "name",
    page: int = 1,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    filters = SiteFilters(
        q=q or None,
        serial=serial or None,
        registration_no=registration_no or None,
        account=account or None,
        country=country or None,
        status=status or None,
        org_id=org_id or None,
    )
    rows, total, counts = [], 0, {}
    try:
        stmt = SiteRepository(session, caller).query(filters, sort)
        found, total = paginate(session, stmt, PageParams(page=max(page, 1), page_size=PAGE))
        rows = service.site_views(session, caller, found)
        counts = SiteRepository(session, caller).status_counts()
    except ApiError as exc:  # a bad filter: show it on the page
        session.rollback()
        error = exc.message
    args = {
        "q": q,
        "serial": serial,
        "registration_no": registration_no,
        "account": account,
        "country": country,
        "status": status,
        "org_id": org_id,
        "sort": sort,
    }
    return render(
        request,
        "portal/sites.html",
        caller,
        sites=rows,
        total=total,
        page=page,
        page_size=PAGE,
        args=args,
        query="&".join(f"{k}={v}" for k, v in args.items() if v),
        counts=counts,
        columns=_columns(session, caller),
        all_columns=COLUMNS,
        orgs=list(session.scalars(OrgRepository(session, caller).query())),
        can_create=caller.can(Kind.SITE, Action.CREATE),
        error=error,
        notice=notice,
    )


@router.post("/site/columns")
def save_columns(
    request: Request,
    session: DbSession,
    csrf: Csrf,
    columns: Annotated[list[str] | None, Form()] = None,
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    chosen = [c for c in COLUMNS if c in (columns or [])]
    pref = session.scalar(
        select(UserPreference).where(
            UserPreference.user_id == caller.user.id, UserPreference.key == "site_columns"
        )
    )
    if pref is None:
        session.add(UserPreference(user_id=caller.user.id, key="site_columns", value=chosen))
    else:
        pref.value = chosen
    return RedirectResponse("/site", 303)


@router.get("/site/new", response_class=HTMLResponse)
def new_site_page(
    request: Request,
    session: DbSession,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    if not caller.can(Kind.SITE, Action.CREATE):
        return render(request, "portal/denied.html", caller, status_code=403)
    owners = list(session.scalars(UserRepository(session, caller).query(role="owner").limit(200)))
    return render(
        request,
        "portal/site_new.html",
        caller,
        error=error,
        form=form or {},
        owners=owners,
        orgs=list(session.scalars(OrgRepository(session, caller).query())),
        status_code=400 if error else 200,
    )


@router.post("/site/new", response_class=HTMLResponse)
def create_site(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Csrf,
    name: Annotated[str, Form()],
    country: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
    site_type: Annotated[str, Form()] = "residential_ess",
    on_grid: Annotated[str, Form()] = "yes",
    capacity_kwp: Annotated[str, Form()] = "0",
    org_id: Annotated[str, Form()] = "",
    gateway_serial: Annotated[str, Form()] = "",
    gateway_type: Annotated[str, Form()] = "wifi",
    registration_no: Annotated[str, Form()] = "",
    account_mode: Annotated[str, Form()] = "none",
    owner_email: Annotated[str, Form()] = "",
    owner_name: Annotated[str, Form()] = "",
    owner_id: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    form = _form_values(locals())
    try:
        data = SiteCreate.model_validate(
            {
                "name": name,
                "country": country.strip().upper(),
                "region": region.strip(),
                "address": address,
                "timezone": timezone or None,
                "site_type": site_type,
                "on_grid": on_grid == "yes",
                "capacity_kwp": capacity_kwp or 0,
                "org_id": org_id or None,
                "gateway": {
                    "serial": gateway_serial,
                    "subtype": gateway_type,
                    "registration_no": registration_no,
                }
                if gateway_serial.strip()
                else None,
                "account": {
                    "mode": account_mode,
                    "email": owner_email or None,
                    "username": owner_name or None,
                    "user_id": owner_id or None,
                },
            }
        )
    except ValidationError as exc:
        return new_site_page(request, session, error=_short(exc), form=form)
    result, error = attempt(session, lambda: service.create_site(session, runtime, caller, data))
    if result is None:
        return new_site_page(request, session, error=error, form=form)
    return RedirectResponse(f"/site/{result[0].id}?notice=Site+created", 303)


def _form_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if isinstance(v, str) and k != "csrf"}


def _device_list(
    request: Request, session: Session, kind: str, title: str, params: dict[str, str], page: int
) -> HTMLResponse:
    caller = require_caller(request, session)
    filters = DeviceFilters(
        kind=kind,
        status=params.get("status") or None,
        model=params.get("model") or None,
        firmware=params.get("firmware") or None,
        serial=params.get("serial") or None,
        live_data=params.get("live_data") or None,
    )
    error = None
    devices: list[Any] = []
    total = 0
    try:
        stmt = DeviceRepository(session, caller).query(filters)
        rows, total = paginate(session, stmt, PageParams(page=max(page, 1), page_size=PAGE))
        devices = device_views(session, rows)
    except ApiError as exc:
        error = exc.message
    return render(
        request,
        "portal/devices.html",
        caller,
        title=title,
        kind=kind,
        devices=devices,
        total=total,
        page=page,
        page_size=PAGE,
        args=params,
        query="&".join(f"{k}={v}" for k, v in params.items() if v),
        error=error,
    )


@router.get("/site/gateways", response_class=HTMLResponse)
def gateway_list(
    request: Request,
    session: DbSession,
    status: str = "",
    model: str = "",
    firmware: str = "",
    serial: str = "",
    live_data: str = "",
    page: int = 1,
) -> HTMLResponse:
    params = dict(status=status, model=model, firmware=firmware, serial=serial, live_data=live_data)
    return _device_list(request, session, "gateway", "Gateways", params, page)


@router.get("/site/inverters", response_class=HTMLResponse)
def inverter_list(
    request: Request,
    session: DbSession,
    status: str = "",
    model: str = "",
    firmware: str = "",
    serial: str = "",
    live_data: str = "",
    page: int = 1,
) -> HTMLResponse:
    params = dict(status=status, model=model, firmware=firmware, serial=serial, live_data=live_data)
    return _device_list(request, session, "inverter", "Inverters", params, page)


@router.get("/site/{site_id}", response_class=HTMLResponse)
def site_overview(
    request: Request,
    session: DbSession,
    site_id: str,
    error: str | None = None,
    notice: str | None = None,
    report: Any = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    repo = SiteRepository(session, caller)
    site_row = repo.get_for(site_id, Action.READ)
    site = service.site_views(session, caller, [site_row])[0]
    devices = device_views(session, DeviceRepository(session, caller).of_site(site_id))
    shared_in = site.shared
    return render(
        request,
        "portal/site.html",
        caller,
        site=site,
        devices=devices,
        tree=topology(session, site_row, DeviceRepository(session, caller).of_site(site_id)),
        owners=list(session.scalars(UserRepository(session, caller).query(role="owner").limit(200)))
        if caller.can(Kind.USER, Action.LIST)
        else [],
        orgs=list(session.scalars(OrgRepository(session, caller).query())),
        can_edit=caller.can(Kind.SITE, Action.UPDATE),
        can_share=caller.can(Kind.SITE, Action.SHARE) and not shared_in,
        can_distribute=caller.can(Kind.SITE, Action.DISTRIBUTE) and not shared_in,
        can_delete=caller.can(Kind.SITE, Action.DELETE) and not shared_in,
        can_devices=caller.can(Kind.DEVICE, Action.CREATE),
        report=report,
        error=error,
        notice=notice,
    )


def _back(
    request: Request, session: Session, site_id: str, outcome: tuple[Any, str | None], ok: str
) -> HTMLResponse:
    _, error = outcome
    return site_overview(request, session, site_id, error=error, notice=None if error else ok)


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
        return site_overview(request, session, site_id, error=_short(exc))
    outcome = attempt(session, lambda: service.update_site(session, caller, site_id, data))
    return _back(request, session, site_id, outcome, "Site saved.")


@router.post("/site/{site_id}/share", response_class=HTMLResponse)
def share_site(
    request: Request, session: DbSession, site_id: str, csrf: Csrf, org_id: Annotated[str, Form()]
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    outcome = attempt(session, lambda: service.share(session, caller, site_id, org_id.strip()))
    return _back(request, session, site_id, outcome, "Site shared.")


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
    return _back(request, session, site_id, outcome, "Owner changed.")


@router.post("/site/{site_id}/deletion-code", response_class=HTMLResponse)
def deletion_code(
    request: Request, session: DbSession, runtime: RuntimeDep, site_id: str, csrf: Csrf
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    to, error = attempt(
        session, lambda: service.request_deletion_code(session, runtime, caller, site_id)
    )
    return site_overview(
        request,
        session,
        site_id,
        error=error,
        notice=None if error else f"A code was mailed to the owner ({to}): enter it to delete.",
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
    _, error = attempt(
        session, lambda: service.delete_site(session, runtime, caller, site_id, code or None)
    )
    if error:
        return site_overview(request, session, site_id, error=error)
    return RedirectResponse("/site?notice=Site+deleted", 303)


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
    model: Annotated[str, Form()] = "",
    comm_address: Annotated[str, Form()] = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    try:
        data = DeviceIn.model_validate(
            {
                "kind": kind,
                "serial": serial.strip(),
                "subtype": subtype or None,
                "parent_serial": parent_serial or None,
                "model": model,
                "comm_address": comm_address or None,
            }
        )
    except ValidationError as exc:
        return site_overview(request, session, site_id, error=_short(exc))
    outcome = attempt(session, lambda: device_service.add_device(session, caller, site_id, data))
    return _back(request, session, site_id, outcome, f"{data.kind.title()} {serial} bound.")


@router.post("/site/{site_id}/import", response_class=HTMLResponse)
def import_devices(
    request: Request,
    session: DbSession,
    site_id: str,
    csrf: Annotated[str, Form()],
    file: UploadFile,
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
    outcome = attempt(session, lambda: device_service.delete_device(session, caller, device_id))
    return _back(request, session, site_id, outcome, f"{device.serial} removed.")


@router.get("/device/{device_id}", response_class=HTMLResponse)
def device_details(request: Request, session: DbSession, device_id: str) -> HTMLResponse:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    view = device_views(session, [device])[0]
    children = device_views(
        session,
        [
            d
            for d in DeviceRepository(session, caller).of_site(device.site_id)
            if d.parent_id == device.id
        ],
    )
    return render(request, "portal/device.html", caller, device=view, children=children)
