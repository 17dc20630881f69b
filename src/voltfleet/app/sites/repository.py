"""Sites as the caller may see them.

In scope: sites of the caller's organisation and every organisation below it, and sites shared
to any of those organisations. An owner sees only the sites they own.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.errors import not_found
from voltfleet.app.orgs.repository import visible_orgs
from voltfleet.domain.access import Action, Kind, Role
from voltfleet.store.models import Org, Site, SiteShare


def visible_sites(caller: Caller) -> Select[tuple[Site]]:
    stmt = select(Site)
    if caller.superuser:
        return stmt
    if caller.role is Role.OWNER:
        return stmt.where(Site.owner_id == caller.user.id)
    org_ids = visible_orgs(caller).with_only_columns(Org.id)
    shared = select(SiteShare.site_id).where(SiteShare.org_id.in_(org_ids))
    return stmt.where(Site.org_id.in_(org_ids) | Site.id.in_(shared))


class SiteRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def get(self, site_id: str) -> Site:
        site = self.session.scalar(visible_sites(self.caller).where(Site.id == site_id))
        if site is None:
            raise not_found("site")
        return site

    def get_for(self, site_id: str, action: Action) -> Site:
        """The site if the caller can see it (else 404) and may take the action on it (else 403)."""
        site = self.get(site_id)
        self.caller.require(Kind.SITE, action)
        return site
