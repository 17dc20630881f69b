"""Writing the audit log: every change a person makes, with who, what, when and from where."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from voltfleet.store.models import AuditEntry, Site, User


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


class Person(Protocol):
    """Who acts (``app.deps.Caller``): the user and the address they came from."""

    @property
    def user(self) -> User: ...

    @property
    def address(self) -> str: ...


def on_site(
    session: Session, person: Person, site: Site, action: str, detail: dict[str, Any]
) -> None:
    """A person's change to something of ``site``, recorded against the site and its org."""
    record(
        session,
        actor=person.user,
        action=action,
        object_type="site",
        object_id=site.id,
        org_id=site.org_id,
        address=person.address,
        detail=detail,
    )
