"""A site's management cards (edit, distribute, share, delete) on its Settings tab: what they
need (templates/portal/_site_manage.html; the forms post to sites/detail_pages.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.sites import service
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.users.repository import UserRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import Org, Site


def manage_context(session: Session, caller: Caller, site_id: str) -> dict[str, Any]:
    """What the site's management cards (edit, distribute, share, delete: _site_manage.html, on
    the Settings tab) need."""
    site_row = SiteRepository(session, caller).get_for(site_id, Action.READ)
    site = service.site_views(session, caller, [site_row])[0]
    shared_in = site.shared
    can_share = caller.can(Kind.SITE, Action.SHARE) and not shared_in
    shares = service.shares(session, caller, site_id) if can_share else []
    return {
        "site": site,
        "owners": list(
            session.scalars(UserRepository(session, caller).query(role="owner").limit(200))
        )
        if caller.can(Kind.USER, Action.LIST)
        else [],
        "share_targets": _share_targets(session, caller, site_row, {o.id for _, o in shares})
        if can_share
        else [],
        "shares": [o for _, o in shares],
        "can_edit": caller.can(Kind.SITE, Action.UPDATE),
        "can_share": can_share,
        "can_distribute": caller.can(Kind.SITE, Action.DISTRIBUTE) and not shared_in,
        "can_delete": caller.can(Kind.SITE, Action.DELETE) and not shared_in,
    }


def _share_targets(session: Session, caller: Caller, site: Site, shared: set[str]) -> list[Org]:
    """The organisations the caller sees that could receive the site: not its own organisation
    or a superior of it (they see it already), and not one it is already shared with."""
    site_org = session.get(Org, site.org_id)
    own_path = site_org.path if site_org else ""
    return [
        o
        for o in session.scalars(OrgRepository(session, caller).query())
        if o.id not in shared and not own_path.startswith(o.path)
    ]
