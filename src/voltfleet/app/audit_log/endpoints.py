from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.orgs.repository import visible_orgs
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import AuditEntry, Org

router = APIRouter(prefix="/api/v1/audit", tags=["audit log"])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    actor_id: str | None
    actor_email: str
    org_id: str | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
    address: str


@router.get("", response_model=Page[AuditOut], summary="Changes made in your organisations")
def list_audit(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    action: str | None = None,
    object_id: str | None = None,
    actor_id: str | None = None,
) -> Page[AuditOut]:
    caller.require(Kind.AUDIT, Action.LIST)
    org_ids = visible_orgs(caller).with_only_columns(Org.id)
    stmt = select(AuditEntry).where(AuditEntry.org_id.in_(org_ids))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    rows, total = paginate(session, stmt.order_by(AuditEntry.at.desc()), paging)
    return Page(
        items=[AuditOut.model_validate(r) for r in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )
