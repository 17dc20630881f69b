"""Organisation changes. Services take a session and a caller, and never commit."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.i18n import _
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.orgs.schemas import OrgCreate, OrgUpdate
from voltfleet.app.security import new_access_code
from voltfleet.domain.access import Action, Kind, OrgType, child_path, may_parent
from voltfleet.store.db import new_id
from voltfleet.store.models import Org, Site
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, TooLarge, UnsupportedMedia


def build_org(
    parent: Org | None, name: str, type: OrgType, country: str = "", description: str = ""
) -> Org:
    if parent is not None and not may_parent(OrgType(parent.type), type):
        article = "an" if parent.type[0] in "aeiou" else "a"
        raise Invalid(f"a {type.value} cannot be placed under {article} {parent.type}")
    org_id = new_id()
    return Org(
        id=org_id,
        name=name,
        type=type.value,
        parent_id=parent.id if parent else None,
        path=child_path(parent.path if parent else "/", org_id),
        access_code=new_access_code(),
        country=country,
        description=description,
    )


def create_org(session: Session, caller: Caller, data: OrgCreate) -> Org:
    repo = OrgRepository(session, caller)
    parent = repo.get(data.parent_id) if data.parent_id else caller.org
    caller.require(Kind.ORG, Action.CREATE)
    org = build_org(parent, data.name, OrgType(data.type), data.country, data.description)
    session.add(org)
    session.flush()
    audit.record(
        session,
        actor=caller.user,
        action="org.create",
        object_type="org",
        object_id=org.id,
        org_id=org.id,
        address=caller.address,
        detail={"name": org.name, "parent_id": parent.id},
    )
    return org


def update_org(session: Session, caller: Caller, org_id: str, data: OrgUpdate) -> Org:
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.ORG, Action.UPDATE)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for key, value in changes.items():
        setattr(org, key, value)
    audit.record(
        session,
        actor=caller.user,
        action="org.update",
        object_type="org",
        object_id=org.id,
        org_id=org.id,
        address=caller.address,
        detail=changes,
    )
    return org


def delete_org(session: Session, caller: Caller, org_id: str) -> None:
    repo = OrgRepository(session, caller)
    org = repo.get(org_id)
    caller.require(Kind.ORG, Action.DELETE)
    if org.id == caller.org.id:
        raise Forbidden("you cannot delete your own organisation")
    if org.type == OrgType.PLATFORM.value:
        raise Forbidden("the platform organisation cannot be deleted")
    dependents = repo.has_dependents(org)
    if dependents:
        raise Conflict(
            _("organisation '%(name)s' still has %(what)s: move or delete them first")
            % {"name": org.name, "what": ", ".join(_(d) for d in dependents)}
        )
    audit.record(
        session,
        actor=caller.user,
        action="org.delete",
        object_type="org",
        object_id=org.id,
        org_id=org.parent_id,
        address=caller.address,
        detail={"name": org.name},
    )
    # Retained (deleted) sites keep their telemetry until purged, under the superior.
    session.execute(
        update(Site)
        .where(Site.org_id == org.id, Site.deleted_at.is_not(None))
        .values(org_id=org.parent_id)
    )
    session.flush()
    session.delete(org)


LOGO_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
LOGO_MAX_BYTES = 1_000_000


def set_logo(session: Session, caller: Caller, org_id: str, data: bytes, media_type: str) -> Org:
    """A company's logo: a PNG, JPEG, WebP or GIF image of at most 1 MB."""
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.ORG, Action.UPDATE)
    if media_type not in LOGO_TYPES:
        raise UnsupportedMedia(_("the logo must be a PNG, JPEG, WebP or GIF image"))
    if not data or len(data) > LOGO_MAX_BYTES:
        raise TooLarge(_("the logo must be an image of at most 1 MB"))
    org.logo, org.logo_type = data, media_type
    audit.record(
        session,
        actor=caller.user,
        action="org.logo",
        object_type="org",
        object_id=org.id,
        org_id=org.id,
        address=caller.address,
        detail={"bytes": len(data)},
    )
    return org


def regenerate_access_code(session: Session, caller: Caller, org_id: str) -> Org:
    """A new access code for a company; the old one stops working (for registration and for
    being found to share a site with)."""
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.ORG, Action.UPDATE)
    org.access_code = new_access_code()
    audit.record(
        session,
        actor=caller.user,
        action="org.access_code",
        object_type="org",
        object_id=org.id,
        org_id=org.id,
        address=caller.address,
    )
    return org
