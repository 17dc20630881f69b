"""Writing the audit log: every change a person makes, with who, what, when and from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from voltfleet.store.models import AuditEntry, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str = "",
    org_id: str | None = None,
    address: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else "",
            org_id=org_id if org_id is not None else (actor.org_id if actor else None),
            action=action,
            object_type=object_type,
            object_id=object_id,
            address=address,
            detail=detail or {},
        )
    )
