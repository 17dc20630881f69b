"""Sites as the caller may see them.

In scope: sites of the caller's organisation and every organisation below it, and sites shared
to any of those organisations. An owner sees only the sites they own. Deleted sites (kept for the
retention period) are in nobody's scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.orgs.repository import OrgRepository, visible_orgs
from voltfleet.app.pagination import bad_sort
from voltfleet.app.refusals import SharedInRefusal
from voltfleet.domain.access import Action, Kind, Role
from voltfleet.domain.fleet import normalise_serial
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, SiteShare, User
from voltfleet.usecases.errors import NotFound

# What a shared site's receiver may not do: share it on, distribute it, delete it (it removes the
# share instead).
OWNING_SIDE_ONLY = frozenset({Action.SHARE, Action.DISTRIBUTE, Action.DELETE})

SORTS = {
    "name": Site.name,
    "created_at": Site.created_at,
    "capacity_kwp": Site.capacity_kwp,
    "country": Site.country,
    "status": Site.status,
}


def visible_sites(caller: Caller) -> Select[tuple[Site]]:
    stmt = select(Site).where(Site.deleted_at.is_(None))
    if caller.superuser:
        return stmt
    if caller.role is Role.OWNER:
        return stmt.where(Site.owner_id == caller.user.id)
    org_ids = visible_orgs(caller).with_only_columns(Org.id)
    shared = select(SiteShare.site_id).where(SiteShare.org_id.in_(org_ids))
    return stmt.where(Site.org_id.in_(org_ids) | Site.id.in_(shared))


def owned_sites(caller: Caller) -> Select[tuple[Site]]:
    """The caller's sites without those shared to it: what the caller's statistics count."""
    stmt = select(Site).where(Site.deleted_at.is_(None))
    if caller.superuser:
        return stmt
    if caller.role is Role.OWNER:
        return stmt.where(Site.owner_id == caller.user.id)
    return stmt.where(Site.org_id.in_(visible_orgs(caller).with_only_columns(Org.id)))


@dataclass
class SiteFilters:
    q: str | None = None  # part of the site name
    serial: str | None = None  # a device's serial number
    registration_no: str | None = None  # a gateway's registration number
    account: str | None = None  # part of the owner's email or username
    country: str | None = None
    region: str | None = None
    status: str | None = None
    org_id: str | None = None  # the superior organisation: its sites and those below it
    site_type: str | None = None
    shared: bool | None = None  # only sites shared to the caller (True) or only its own (False)


class SiteRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def get(self, site_id: str) -> Site:
        site = self.session.scalar(visible_sites(self.caller).where(Site.id == site_id))
        if site is None:
            raise NotFound("site")
        return site

    def get_for(self, site_id: str, action: Action) -> Site:
        """The site if the caller can see it (else 404) and may take the action on it (else 403).

        A site shared to the caller's organisation can be viewed and edited, but not shared on,
        distributed or deleted (the receiver removes its share instead).
        """
        site = self.get(site_id)
        self.caller.require(Kind.SITE, action)
        if action in OWNING_SIDE_ONLY and self.is_shared_in(site):
            raise SharedInRefusal(
                "this site is shared with your organisation: you may view and edit it, or remove "
                "it from your list (DELETE /api/v1/sites/{id}/shares/{org_id}), but not "
                f"{action.value} it"
            )
        return site

    def is_shared_in(self, site: Site) -> bool:
        """Does the caller see this site only because it was shared to its organisation?"""
        return site.id in self.shared_in([site])

    def shared_in(self, sites: Iterable[Site]) -> set[str]:
        """Of these (visible) sites, the ids the caller sees only through a share."""
        sites = list(sites)
        if self.caller.superuser or self.caller.role is Role.OWNER or not sites:
            return set()
        org_ids = {s.org_id for s in sites}
        paths = dict(
            self.session.execute(select(Org.id, Org.path).where(Org.id.in_(org_ids))).all()
        )
        scope = self.caller.scope_path
        return {s.id for s in sites if not paths.get(s.org_id, "").startswith(scope)}

    def query(self, filters: SiteFilters | None = None, sort: str = "name") -> Select[tuple[Site]]:
        f = filters or SiteFilters()
        stmt = visible_sites(self.caller)
        if f.q:
            stmt = stmt.where(Site.name.ilike(f"%{_escape_like(f.q.strip())}%", escape="\\"))
        if f.serial:
            stmt = stmt.where(
                Site.id.in_(
                    select(Device.site_id).where(
                        Device.serial == normalise_serial(f.serial), Device.deleted_at.is_(None)
                    )
                )
            )
        if f.registration_no:
            stmt = stmt.where(
                Site.id.in_(
                    select(Device.site_id).where(
                        Device.registration_no == normalise_serial(f.registration_no),
                        Device.deleted_at.is_(None),
                    )
                )
            )
        if f.account:
            like = f"%{_escape_like(f.account.strip().lower())}%"
            stmt = stmt.where(
                Site.owner_id.in_(
                    select(User.id).where(
                        User.email.ilike(like, escape="\\") | User.username.ilike(like, escape="\\")
                    )
                )
            )
        if f.country:
            stmt = stmt.where(Site.country == f.country.upper())
        if f.region:
            stmt = stmt.where(Site.region == f.region)
        if f.status:
            stmt = stmt.where(Site.status == f.status)
        if f.site_type:
            stmt = stmt.where(Site.site_type == f.site_type)
        if f.org_id:
            org = OrgRepository(self.session, self.caller).get(f.org_id)
            below = select(Org.id).where(Org.path.startswith(org.path, autoescape=True))
            stmt = stmt.where(Site.org_id.in_(below))
        if f.shared is not None and not self.caller.superuser:
            if self.caller.role is Role.OWNER:
                if f.shared:
                    stmt = stmt.where(Site.id.is_(None))
            else:
                own = visible_orgs(self.caller).with_only_columns(Org.id)
                stmt = stmt.where(Site.org_id.not_in(own) if f.shared else Site.org_id.in_(own))
        return stmt.order_by(*_order(sort))

    def status_counts(self) -> dict[str, int]:
        """Sites per status, without the sites shared to the caller (not in its statistics)."""
        stmt = owned_sites(self.caller).with_only_columns(Site.status, func.count())
        rows = self.session.execute(stmt.group_by(Site.status))  # an index's entries (0036)
        return {status: int(n) for status, n in rows}


def _order(sort: str) -> list[object]:
    key = sort.lstrip("-")
    if key not in SORTS:
        raise bad_sort(sort, SORTS)
    column = SORTS[key]
    return [column.desc() if sort.startswith("-") else column.asc(), Site.id]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
