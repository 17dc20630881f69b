"""Writing one audit-log row from a repository: who (the person a repository acts for), what,
when (the clock's instant the use case passed) and from where."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from voltfleet.store.models import AuditEntry, User


def add(
    session: Session,
    *,
    actor: User | None,
    address: str,
    action: str,
    object_type: str,
    object_id: str,
    org_id: str | None,
    detail: Mapping[str, Any],
    at: datetime,
) -> None:
    """As ``app.audit.record``: the organisation defaults to the actor's."""
    session.add(
        AuditEntry(
            at=at,
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else "",
            org_id=org_id if org_id is not None else (actor.org_id if actor else None),
            action=action,
            object_type=object_type,
            object_id=object_id,
            address=address,
            detail=dict(detail),
        )
    )
