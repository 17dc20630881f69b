"""Who set a tariff version and when: the owner of a home sets their own tariff (the "connect"
step), installers may too, and both see which person saved each version.

A version keeps the id of the user who saved it (``TariffVersion.created_by``) and its time
(``created_at``); the person's name and role are read when shown, so a renamed user shows their
current name, and a deleted one shows as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import Site, User
from voltfleet.store.money_models import TariffVersion as TariffRow


@dataclass(frozen=True)
class SetBy:
    user_id: str
    name: str
    role: str  # admin | om | owner | "" (deleted)


def tariff_site(session: Session, caller: Caller, site_id: str, action: Action) -> Site:
    """The site whose tariff the caller reads or changes: visible to the caller (else 404), and
    the caller's role may take the action on tariffs (else 403). An owner may set the tariff of
    a site they see (their own), though they may not edit the site itself."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    caller.require(Kind.TARIFF, action)
    return site


def setters(session: Session, rows: Iterable[TariffRow]) -> dict[str, SetBy]:
    """The people who saved these versions, by user id (a deleted user is missing)."""
    ids = {r.created_by for r in rows if r.created_by}
    if not ids:
        return {}
    found = session.execute(select(User.id, User.username, User.role).where(User.id.in_(ids)))
    return {uid: SetBy(uid, name, role) for uid, name, role in found}
