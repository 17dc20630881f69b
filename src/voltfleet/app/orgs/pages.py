"""The company page (/account/companies/{id}): its information, address, region, description,
logo and access code, edited by administrators and O&M engineers; and the company tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from voltfleet.app.deps import Caller, DbSession, RuntimeDep
from voltfleet.app.i18n import _
from voltfleet.app.orgs import service
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.orgs.schemas import OrgUpdate
from voltfleet.app.orgs.sharing import find_receiver
from voltfleet.app.portal.render import attempt, first_error, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.regions import regions
from voltfleet.domain.access import Action, Kind, OrgType
from voltfleet.store.models import Org, User
from voltfleet.usecases.errors import AppError

router = APIRouter()
Csrf = Annotated[str, Form()]


@dataclass
class Node:
    """A company in the tree, with the companies below it."""

    org: Org
    children: list[Node] = field(default_factory=list)


def company_tree(orgs: list[Org]) -> list[Node]:
    """The visible companies as a tree: each below its superior when the superior is visible,
    otherwise at the top (the caller's own company is the top of an O&M engineer's tree)."""
    nodes = {o.id: Node(o) for o in orgs}
    roots: list[Node] = []
    for o in sorted(orgs, key=lambda o: (o.path.count("/"), o.name.casefold())):
        parent = nodes.get(o.parent_id or "")
        (parent.children if parent else roots).append(nodes[o.id])
    return roots


def _page(
    request: Request,
    session: DbSession,
    caller: Caller,
    org: Org,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    users = session.scalar(select(func.count()).select_from(User).where(User.org_id == org.id))
    superior = session.get(Org, org.parent_id) if org.parent_id else None
    return render(
        request,
        "portal/company.html",
        caller,
        org=org,
        superior=superior,
        user_count=users or 0,
        regions=regions(),
        can_edit=caller.can(Kind.ORG, Action.UPDATE),
        can_delete=caller.can(Kind.ORG, Action.DELETE)
        and org.id != caller.org.id
        and org.type != OrgType.PLATFORM.value,
        error=error,
        notice=notice,
        status_code=status_code,
    )


@router.get("/account/companies/{org_id}", response_class=HTMLResponse)
def company(request: Request, session: DbSession, org_id: str) -> HTMLResponse:
    caller = require_caller(request, session)
    if not caller.can(Kind.ORG, Action.LIST):  # owners: their configuration, not company pages
        return render(request, "portal/denied.html", caller, status_code=403)
    org = OrgRepository(session, caller).get(org_id)
    return _page(request, session, caller, org)


@router.post("/account/companies/{org_id}", response_class=HTMLResponse)
def save_company(
    request: Request,
    session: DbSession,
    org_id: str,
    csrf: Csrf,
    name: Annotated[str, Form()],
    country: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    org = OrgRepository(session, caller).get(org_id)
    try:
        data = OrgUpdate(
            name=name.strip(),
            country=country.strip().upper(),
            address=address.strip(),
            description=description.strip(),
        )
    except ValueError as exc:
        return _page(request, session, caller, org, error=first_error(exc), status_code=422)
    saved, error = attempt(session, lambda: service.update_org(session, caller, org_id, data))
    if saved is None:
        org = OrgRepository(session, caller).get(org_id)
        return _page(request, session, caller, org, error=error, status_code=403)
    return _page(request, session, caller, saved, notice=_("Company saved."))


@router.post("/account/companies/{org_id}/logo", response_class=HTMLResponse)
def upload_logo(
    request: Request, session: DbSession, org_id: str, csrf: Csrf, file: UploadFile
) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    data = file.file.read(service.LOGO_MAX_BYTES + 1)
    saved, error = attempt(
        session,
        lambda: service.set_logo(session, caller, org_id, data, file.content_type or ""),
    )
    org = saved or OrgRepository(session, caller).get(org_id)
    notice = None if error else _("Logo saved.")
    return _page(request, session, caller, org, error=error, notice=notice)


@router.get("/account/companies/{org_id}/logo")
def logo(request: Request, session: DbSession, org_id: str) -> Response:
    caller = require_caller(request, session)
    try:
        org = OrgRepository(session, caller).get(org_id)
    except AppError:
        return Response(status_code=404)
    if not org.logo_type:
        return Response(status_code=404)
    return Response(org.logo or b"", media_type=org.logo_type)


@router.post("/account/companies/{org_id}/access-code", response_class=HTMLResponse)
def new_access_code(request: Request, session: DbSession, org_id: str, csrf: Csrf) -> HTMLResponse:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    saved, error = attempt(session, lambda: service.regenerate_access_code(session, caller, org_id))
    org = saved or OrgRepository(session, caller).get(org_id)
    notice = None if error else _("A new access code was made: the old one no longer works.")
    return _page(request, session, caller, org, error=error, notice=notice)


@router.post("/site/{site_id}/share-outside", response_class=HTMLResponse)
def share_outside(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    site_id: str,
    csrf: Csrf,
    org: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Share a site with an organisation outside one's own, found by its exact name or access
    code (never listed: see orgs.sharing)."""
    from voltfleet.app.sites import service as site_service
    from voltfleet.app.sites.detail_pages import site_settings_page

    caller = require_caller(request, session)
    check_csrf(request, csrf)

    def share() -> Org:
        receiver = find_receiver(session, runtime, caller, org)
        site_service.share(session, caller, site_id, receiver.id)
        return receiver

    receiver, error = attempt(session, share)
    notice = None if receiver is None else _("Site shared with %(name)s.") % {"name": receiver.name}
    return site_settings_page(request, session, site_id, error=error, notice=notice)
