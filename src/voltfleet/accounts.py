"""Account set-up used outside requests: the platform organisation and superusers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.models import Org, User


def ensure_platform(session: Session) -> Org:
    """The root of the organisation tree; created once."""
    org = session.scalar(select(Org).where(Org.type == OrgType.PLATFORM.value))
    if org is None:
        org = build_org(None, "voltfleet platform", OrgType.PLATFORM)
        session.add(org)
        session.flush()
    return org


def create_superuser(session: Session, runtime: Runtime, email: str, password: str) -> User:
    platform = ensure_platform(session)
    user = new_user(
        session,
        runtime,
        email=email,
        username=email.split("@")[0],
        password=password,
        org_id=platform.id,
        role="admin",
    )
    user.is_superuser = True
    return user
