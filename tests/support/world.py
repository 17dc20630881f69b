"""A small organisation tree with one user of each role per organisation, for the API tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from voltfleet.accounts import create_superuser, ensure_platform
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.models import Org, User

PASSWORD = "Secret#123"


@dataclass
class Account:
    id: str
    email: str
    role: str
    org: str  # the org's label in the world
    superuser: bool = False
    token: str = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    orgs: dict[str, Org] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)

    def org_id(self, label: str) -> str:
        return self.orgs[label].id


# label -> (type, parent label)
TREE = {
    "P": ("platform", None),
    "D1": ("distributor", "P"),
    "I1": ("installer", "D1"),
    "D2": ("distributor", "P"),
    "I2": ("installer", "D2"),
}


def build_world(runtime: Runtime) -> World:
    world = World()
    with runtime.db.session() as s:
        world.orgs["P"] = ensure_platform(s)
        for label, (kind, parent) in TREE.items():
            if parent is None:
                continue
            org = build_org(world.orgs[parent], f"Org {label}", OrgType(kind), "DE")
            s.add(org)
            s.flush()
            world.orgs[label] = org
        su = create_superuser(s, runtime, "root@example.com", PASSWORD)
        world.accounts["super"] = Account(su.id, su.email, "admin", "P", superuser=True)
        for label in TREE:
            if label == "P":
                continue
            for role in ("admin", "om", "owner"):
                email = f"{role}.{label.lower()}@example.com"
                u: User = new_user(
                    s,
                    runtime,
                    email=email,
                    username=f"{role} {label}",
                    password=PASSWORD,
                    org_id=world.orgs[label].id,
                    role=role,
                )
                world.accounts[f"{role}@{label}"] = Account(u.id, email, role, label)
        users = {u.id: u for u in s.query(User).all()}
        for acc in world.accounts.values():
            user = users[acc.id]
            acc.token = runtime.security.issue_token(
                user.id, user.password_changed_at, now=runtime.clock.now()
            )
    return world


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])
