"""Site pages: the site list (search, remembered columns) and the creation wizard. The site
overview and its forms are in ``detail_pages``; ``portal.routes`` orders the routers."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession, NowDep, RuntimeDep
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.pagination import PageParams
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites import listing, service
from voltfleet.app.sites.detail_pages import short_error
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.sites.schemas import SiteCreate
from voltfleet.app.users.repository import UserRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.store.fleet_models import UserPreference
from voltfleet.usecases.errors import Invalid, NotFound

router = APIRouter()
Csrf = Annotated[str, Form()]
PAGE = 25

# The site list's optional columns (name is always shown), in order, with their headings (the
# template translates them), and the sort key of each sortable one (app/sites/listing.py).
COLUMNS = {
    "status": "Status",
    "site_type": "Type",
    "region": "Country / region",
    "online_rate": "Online rate",
    "capacity": "Capacity",
    "power": "Power now",
    "yield_today": "Yield today",
    "total_yield": "Total yield",
    "alarms": "Active alarms",
    "company": "Superior",
    "owner": "Owner",
    "devices": "Devices",
    "created": "Created",
}
SORT_OF = {
    "status": "status",
    "site_type": "type",
    "region": "region",
    "online_rate": "online_rate",
    "capacity": "capacity",
    "power": "power",
    "yield_today": "yield_today",
    "alarms": "alarms",
    "company": "superior",
    "created": "created",
}
DEFAULT_COLUMNS = [
    "status",
    "site_type",
    "region",
    "online_rate",
    "capacity",
    "power",
    "yield_today",
    "alarms",
    "company",
]


def _columns(session: Session, caller: Caller) -> list[str]:
    pref = session.scalar(
        select(UserPreference).where(
            UserPreference.user_id == caller.user.id, UserPreference.key == "site_columns"
        )
    )
    if pref is None or not isinstance(pref.value, list):
        return list(DEFAULT_COLUMNS)
    return [c for c in COLUMNS if c in pref.value]


@router.get("/site", response_class=HTMLResponse)
def site_list(
    request: Request,
    session: DbSession,
    now: NowDep,
    q: str = "",
    serial: str = "",
    registration_no: str = "",
    account: str = "",
    country: str = "",
    status: str = "",
    org_id: str = "",
    sort: str = "name",
    page: int = 1,
    error: ErrorArg = None,
    notice: NoticeArg = None,
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
    rows, total, counts, figures = [], 0, {}, {}
    try:
        found, total = listing.page_of_sites(
            session, caller, filters, sort, PageParams(page=max(page, 1), page_size=PAGE), now
        )
        rows = service.site_views(session, caller, found)
        figures = listing.figures(session, found, now)
        counts = SiteRepository(session, caller).status_counts()
    except (Invalid, NotFound) as exc:  # a bad filter (sort, organisation): shown on the page
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
        query=urlencode({k: v for k, v in args.items() if v}),
        filter_query=urlencode({k: v for k, v in args.items() if v and k != "sort"}),
        counts=counts,
        figures=figures,
        columns=_columns(session, caller),
        all_columns=COLUMNS,
        sort_of=SORT_OF,
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
    error: ErrorArg = None,
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
    gateway_fw: Annotated[str, Form()] = "",
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
                    "fw_arm": gateway_fw.strip(),
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
        return new_site_page(request, session, error=short_error(exc), form=form)
    result, error = attempt(session, lambda: service.create_site(session, runtime, caller, data))
    if result is None:
        return new_site_page(request, session, error=error, form=form)
    return notices.redirect(request, f"/site/{result[0].id}", notice="site_created")


def _form_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if isinstance(v, str) and k != "csrf"}
