"""The demo organisation tree, users and sites, created once on the embedded database."""

from __future__ import annotations

from sqlalchemy import select

from voltfleet.accounts import create_superuser, ensure_platform
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.models import Site, User

DEMO_PASSWORD = "Demo#2026"  # satisfies the password rules; the demo says so when it starts

HOMES = [
    ("Musterhaus Freiburg", "DE", "Europe/Berlin", 9.8, 47.99, 7.85),
    ("Haus am See Potsdam", "DE", "Europe/Berlin", 7.2, 52.39, 13.06),
    ("Casa Verde Graz", "AT", "Europe/Vienna", 6.0, 47.07, 15.44),
    ("Villa Zon Utrecht", "NL", "Europe/Amsterdam", 5.4, 52.09, 5.12),
    ("Ferme Solaire Lyon", "FR", "Europe/Paris", 11.5, 45.76, 4.84),
]


def seed_demo(runtime: Runtime) -> list[tuple[str, str, str]]:
    """Create the demo fleet unless it exists; returns (role, email, password) for each login."""
    logins = [
        ("platform superuser", "admin@demo.voltfleet", DEMO_PASSWORD),
        ("distributor administrator", "distributor@demo.voltfleet", DEMO_PASSWORD),
        ("installer administrator", "installer@demo.voltfleet", DEMO_PASSWORD),
        ("installer O&M engineer", "om@demo.voltfleet", DEMO_PASSWORD),
        ("home owner", "owner@demo.voltfleet", DEMO_PASSWORD),
    ]
    with runtime.db.session() as s:
        if s.scalar(select(User).where(User.email == logins[0][1])) is not None:
            return logins
        platform = ensure_platform(s)
        create_superuser(s, runtime, logins[0][1], DEMO_PASSWORD)
        dist = build_org(platform, "Sunrise Distribution", OrgType.DISTRIBUTOR, "DE")
        s.add(dist)
        s.flush()
        inst = build_org(dist, "Bright Roofs Installers", OrgType.INSTALLER, "DE")
        other = build_org(dist, "Alpine Solar Service", OrgType.INSTALLER, "AT")
        s.add_all([inst, other])
        s.flush()

        def user(email: str, name: str, org_id: str, role: str) -> User:
            return new_user(
                s,
                runtime,
                email=email,
                username=name,
                password=DEMO_PASSWORD,
                org_id=org_id,
                role=role,
                country="DE",
            )

        user(logins[1][1], "Dana Distributor", dist.id, "admin")
        user(logins[2][1], "Ingo Installer", inst.id, "admin")
        user(logins[3][1], "Olga O&M", inst.id, "om")
        owner = user(logins[4][1], "Otto Owner", inst.id, "owner")
        for i, (name, country, tz, kwp, lat, lon) in enumerate(HOMES):
            s.add(
                Site(
                    org_id=inst.id if i < 4 else other.id,
                    owner_id=owner.id if i == 0 else None,
                    name=name,
                    country=country,
                    timezone=tz,
                    capacity_kwp=kwp,
                    latitude=lat,
                    longitude=lon,
                    currency="EUR",
                )
            )
    return logins
