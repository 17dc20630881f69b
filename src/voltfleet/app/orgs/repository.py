"""Organisations as the caller may see them: their own and everything below it."""

from __future__ import annotations

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.i18n import gettext_noop as N_
from voltfleet.domain.access import Role
from voltfleet.store.firmware_models import FirmwareRelease
from voltfleet.store.models import Org, Site, User
from voltfleet.store.virtual_battery_models import VirtualBattery
from voltfleet.usecases.errors import NotFound


def visible_orgs(caller: Caller) -> Select[tuple[Org]]:
    stmt = select(Org)
    if caller.role is Role.OWNER and not caller.superuser:
        return stmt.where(Org.id == caller.org.id)
    return stmt.where(Org.path.startswith(caller.scope_path, autoescape=True))


class OrgRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def query(
        self, *, type: str | None = None, parent_id: str | None = None, q: str | None = None
    ) -> Select[tuple[Org]]:
        stmt = visible_orgs(self.caller)
        if type:
            stmt = stmt.where(Org.type == type)
        if parent_id:
            stmt = stmt.where(Org.parent_id == parent_id)
        if q:
            stmt = stmt.where(Org.name.ilike(f"%{q}%"))
        return stmt.order_by(Org.path)

    def get(self, org_id: str) -> Org:
        org = self.session.scalar(visible_orgs(self.caller).where(Org.id == org_id))
        if org is None:
            raise NotFound("organisation")
        return org

    def has_dependents(self, org: Org) -> list[str]:
        """What still hangs on an organisation, in words (empty when it may go)."""
        found = []
        s = self.session
        if s.scalar(select(exists().where(Org.parent_id == org.id))):
            found.append(N_("subordinate organisations"))
        if s.scalar(select(exists().where(User.org_id == org.id))):
            found.append(N_("users"))
        # Deleted sites kept for the retention period do not hold the organisation: they move
        # to its superior on deletion (see orgs.service.delete_org) until they are purged.
        if s.scalar(select(exists().where(Site.org_id == org.id, Site.deleted_at.is_(None)))):
            found.append(N_("sites"))
        # Firmware releases would go with the company (a cascade) and virtual batteries hold it
        # by a foreign key: both are named here instead of a silent loss or a database error.
        if s.scalar(select(exists().where(FirmwareRelease.org_id == org.id))):
            found.append(N_("firmware releases"))
        if s.scalar(select(exists().where(VirtualBattery.org_id == org.id))):
            found.append(N_("virtual batteries"))
        return found


def org_by_access_code(session: Session, code: str) -> Org | None:
    """Unscoped on purpose: registration looks up the superior by the code it was given."""
    return session.scalar(select(Org).where(Org.access_code == code.strip().upper()))
