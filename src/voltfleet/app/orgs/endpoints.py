from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.orgs import service
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.orgs.schemas import OrgCreate, OrgOut, OrgUpdate
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.domain.access import Action, Kind

router = APIRouter(prefix="/api/v1/orgs", tags=["organisations"])


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
    items = [OrgOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.post("", response_model=OrgOut, status_code=status.HTTP_201_CREATED)
def create_org(session: DbSession, caller: CallerDep, body: OrgCreate) -> OrgOut:
    return OrgOut.model_validate(service.create_org(session, caller, body))


@router.get("/{org_id}", response_model=OrgOut)
def read_org(session: DbSession, caller: CallerDep, org_id: str) -> OrgOut:
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.ORG, Action.READ)
    return OrgOut.model_validate(org)


@router.patch("/{org_id}", response_model=OrgOut)
def update_org(session: DbSession, caller: CallerDep, org_id: str, body: OrgUpdate) -> OrgOut:
    return OrgOut.model_validate(service.update_org(session, caller, org_id, body))


@router.delete("/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_org(session: DbSession, caller: CallerDep, org_id: str) -> None:
    service.delete_org(session, caller, org_id)
