"""The demo's companies with the details of their company pages (address, description) and the
O&M engineer's supervisor, so the Accounts pages show them filled in (issue 19)."""

from __future__ import annotations

from sqlalchemy import select

from voltfleet.app.runtime import Runtime
from voltfleet.store.models import Org, User

COMPANIES = {
    "Sunrise Distribution": ("Industriestraße 12, 80939 München", "PV and storage wholesale"),
    "Bright Roofs Installers": ("Am Sonnenhang 3, 79100 Freiburg", "Rooftop PV, batteries, EV"),
    "Alpine Solar Service": ("Bergweg 5, 6020 Innsbruck", "Service partner in Tyrol"),
}


def seed_accounts_demo(runtime: Runtime) -> None:
    """Fill in what is still empty; never overwrite what someone changed in the demo."""
    with runtime.db.session() as s:
        for org in s.scalars(select(Org).where(Org.name.in_(COMPANIES))):
            address, description = COMPANIES[org.name]
            org.address = org.address or address
            org.description = org.description or description
        boss = s.scalar(select(User).where(User.email == "installer@demo.voltfleet"))
        om = s.scalar(select(User).where(User.email == "om@demo.voltfleet"))
        if boss is not None and om is not None and om.supervisor_id is None:
            om.supervisor_id = boss.id
            om.description = om.description or "Maintenance, southern Black Forest"
