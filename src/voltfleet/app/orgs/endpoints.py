from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, UploadFile, status

from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.orgs import service
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.orgs.schemas import OrgCreate, OrgOut, OrgUpdate, org_out
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import Org
from voltfleet.usecases.errors import NotFound

router = APIRouter(prefix="/api/v1/orgs", tags=["organisations"])


def _out(caller: CallerDep, org: Org) -> OrgOut:
    return org_out(org, may_manage=caller.can(Kind.ORG, Action.UPDATE))


@router.get("", response_model=Page[OrgOut], summary="Organisations you can see")
def list_orgs(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    type: Annotated[
        Literal["platform", "distributor", "installer", "utility"] | None, Query()
    ] = None,
    parent_id: str | None = None,
    q: Annotated[str | None, Query(description="part of the name")] = None,
) -> Page[OrgOut]:
    caller.require(Kind.ORG, Action.LIST)
    stmt = OrgRepository(session, caller).query(type=type, parent_id=parent_id, q=q)
    rows, total = paginate(session, stmt, paging)
    items = [_out(caller, r) for r in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.post("", response_model=OrgOut, status_code=status.HTTP_201_CREATED)
def create_org(session: DbSession, caller: CallerDep, body: OrgCreate) -> OrgOut:
    return _out(caller, service.create_org(session, caller, body))


@router.get("/{org_id}", response_model=OrgOut)
def read_org(session: DbSession, caller: CallerDep, org_id: str) -> OrgOut:
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.ORG, Action.READ)
    return _out(caller, org)


@router.patch("/{org_id}", response_model=OrgOut)
def update_org(session: DbSession, caller: CallerDep, org_id: str, body: OrgUpdate) -> OrgOut:
    return _out(caller, service.update_org(session, caller, org_id, body))


@router.delete("/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_org(session: DbSession, caller: CallerDep, org_id: str) -> None:
    service.delete_org(session, caller, org_id)


@router.put("/{org_id}/logo", status_code=status.HTTP_204_NO_CONTENT)
def upload_logo(session: DbSession, caller: CallerDep, org_id: str, file: UploadFile) -> None:
    """The company's logo: a PNG, JPEG, WebP or GIF image of at most 1 MB."""
    data = file.file.read(service.LOGO_MAX_BYTES + 1)
    service.set_logo(session, caller, org_id, data, file.content_type or "")


@router.get("/{org_id}/logo", response_class=Response)
def read_logo(session: DbSession, caller: CallerDep, org_id: str) -> Response:
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.ORG, Action.READ)
    if not org.logo_type:
        raise NotFound("logo")
    return Response(org.logo or b"", media_type=org.logo_type)


@router.post(
    "/{org_id}/access-code",
    response_model=OrgOut,
    summary="A new access code for the organisation (the old one stops working)",
)
def regenerate_access_code(session: DbSession, caller: CallerDep, org_id: str) -> OrgOut:
    return _out(caller, service.regenerate_access_code(session, caller, org_id))
