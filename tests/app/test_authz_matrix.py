"""The authorisation matrix, generated from the policy table.

For every endpoint under /api/v1, every caller (each role in each organisation, plus a superuser)
and every target (objects in each organisation), the expected answer comes from an oracle written
here independently of the application's repositories:

* the target is outside the caller's scope  -> 404
* visible, but POLICY refuses the action     -> 403
* otherwise                                  -> 2xx (and lists hold exactly the visible objects)

A route that exists but is not described here fails the test, so new endpoints must join it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import Account, World, build_world
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import Action, Kind, OrgType, Role, allowed
from voltfleet.store.models import ApiKey, AuditEntry, Org, User

PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/register/code"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
}
# Endpoints about the caller's own account: no other tenant's object is named in them.
SELF = {
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("DELETE", "/api/v1/me"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/me/email/start"),
    ("POST", "/api/v1/me/email/new"),
    ("POST", "/api/v1/me/email/confirm"),
    ("PUT", "/api/v1/me/avatar"),
    ("GET", "/api/v1/me/api-keys"),
    ("POST", "/api/v1/me/api-keys"),
    ("DELETE", "/api/v1/me/api-keys/{key_id}"),
}


@dataclass
class Case:
    kind: Kind
    action: Action
    method: str
    path: str  # with {id} for the target
    body: Callable[[str], object] | None = None  # built from the target org id


OBJECT_CASES = [
    Case(Kind.ORG, Action.READ, "GET", "/api/v1/orgs/{org_id}"),
    Case(Kind.ORG, Action.UPDATE, "PATCH", "/api/v1/orgs/{org_id}", lambda _: {"description": "x"}),
    Case(Kind.ORG, Action.DELETE, "DELETE", "/api/v1/orgs/{org_id}"),
    Case(
        Kind.ORG,
        Action.CREATE,
        "POST",
        "/api/v1/orgs",
        lambda parent: {"name": "New", "type": "installer", "parent_id": parent},
    ),
    Case(Kind.USER, Action.READ, "GET", "/api/v1/users/{user_id}"),
    Case(Kind.USER, Action.READ, "GET", "/api/v1/users/{user_id}/avatar"),
    Case(Kind.USER, Action.UPDATE, "PATCH", "/api/v1/users/{user_id}", lambda _: {"username": "y"}),
    Case(
        Kind.USER, Action.CHANGE_ROLE, "PATCH", "/api/v1/users/{user_id}", lambda _: {"role": "om"}
    ),
    Case(Kind.USER, Action.DELETE, "DELETE", "/api/v1/users/{user_id}"),
    Case(
        Kind.USER,
        Action.RESET_PASSWORD,
        "POST",
        "/api/v1/users/{user_id}/reset-password",
        lambda _: {"new_password": "Reset#1234"},
    ),
    Case(
        Kind.USER,
        Action.CREATE,
        "POST",
        "/api/v1/users",
        lambda org: {
            "email": f"n{id(org)}@example.com",
            "username": "n",
            "password": "Fresh#123",
            "org_id": org,
            "role": "owner",
        },
    ),
]
LIST_CASES = [
    (Kind.ORG, "/api/v1/orgs"),
    (Kind.USER, "/api/v1/users"),
    (Kind.AUDIT, "/api/v1/audit"),
]


def template(case: Case) -> tuple[str, str]:
    return case.method, case.path


def described_routes() -> set[tuple[str, str]]:
    return PUBLIC | SELF | {template(c) for c in OBJECT_CASES} | {("GET", p) for _, p in LIST_CASES}


# ---- the oracle -------------------------------------------------------------------------------


def org_visible(caller: Account, caller_org: Org, target: Org) -> bool:
    if caller.superuser:
        return True
    if caller.role == "owner":
        return target.id == caller_org.id
    return target.path.startswith(caller_org.path)


def user_visible(caller: Account, caller_org: Org, target: User, target_org: Org) -> bool:
    if caller.superuser:
        return True
    if caller.role == "owner":
        return target.id == caller.id
    return target_org.path.startswith(caller_org.path)


def expected(visible: bool, caller: Account, kind: Kind, action: Action) -> str:
    if not visible:
        return "404"
    if not allowed(Role(caller.role), kind, action, superuser=caller.superuser):
        return "403"
    return "2xx"


def outcome(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)


# ---- throwaway targets, so destructive actions never disturb the world -------------------------


class Targets:
    def __init__(self, runtime: Runtime, world: World) -> None:
        self.runtime = runtime
        self.world = world
        self.n = itertools.count()

    def child_org(self, parent_label: str) -> Org:
        with self.runtime.db.session() as s:
            parent = s.get(Org, self.world.org_id(parent_label))
            org = build_org(parent, f"tmp {next(self.n)}", OrgType.INSTALLER)
            s.add(org)
            return org

    def user(self, org_label: str) -> User:
        with self.runtime.db.session() as s:
            u = new_user(
                s,
                self.runtime,
                email=f"tmp{next(self.n)}@example.com",
                username="tmp",
                password="Tmp#12345",
                org_id=self.world.org_id(org_label),
                role="owner",
            )
            u.avatar, u.avatar_type = b"GIF89a", "image/gif"
            return u


def test_every_api_route_is_in_the_matrix(app: FastAPI) -> None:
    # The published OpenAPI lists every API route (the portal's pages are left out of it).
    routes = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in ops
    }
    missing = routes - described_routes()
    assert not missing, f"endpoints missing from the authorisation matrix: {sorted(missing)}"
    stale = described_routes() - routes
    assert not stale, f"matrix describes endpoints that no longer exist: {sorted(stale)}"


def test_authorisation_matrix(
    client: TestClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    world = build_world(runtime)
    targets = Targets(runtime, world)
    with runtime.db.session() as s:
        orgs = {o.id: o for o in s.scalars(select(Org))}
    tally: Counter[str] = Counter()
    failures: list[str] = []

    def check(
        caller: Account, label: str, method: str, url: str, want: str, body: object = None
    ) -> None:
        r = client.request(method, url, headers=caller.headers(), json=body)
        got = outcome(r.status_code)
        tally["requests"] += 1
        tally[got] += 1
        if got != want:
            failures.append(
                f"{label}: {method} {url} as {caller.email}: want {want}, got "
                f"{r.status_code} {r.text[:120]}"
            )

    for key, caller in world.accounts.items():
        caller_org = orgs[world.org_id(caller.org)]
        for target_label in world.orgs:
            target_org = orgs[world.org_id(target_label)]
            for case in OBJECT_CASES:
                label = f"{case.kind}.{case.action} on {target_label} by {key}"
                if case.kind is Kind.ORG:
                    if case.action is Action.DELETE:
                        obj = targets.child_org(target_label)
                    else:
                        obj = target_org
                    visible = org_visible(caller, caller_org, obj)
                    url = case.path.format(org_id=obj.id)
                    body = case.body(obj.id) if case.body else None
                elif case.action is Action.CREATE:
                    visible = org_visible(caller, caller_org, target_org)
                    url = case.path
                    body = case.body(target_org.id) if case.body else None
                else:
                    obj_user = targets.user(target_label)
                    visible = user_visible(caller, caller_org, obj_user, target_org)
                    url = case.path.format(user_id=obj_user.id)
                    body = case.body(target_org.id) if case.body else None
                if case.kind is Kind.USER and case.action is Action.CREATE and body:
                    body["email"] = f"c{next(targets.n)}@example.com"  # type: ignore[index]
                check(
                    caller,
                    label,
                    case.method,
                    url,
                    expected(visible, caller, case.kind, case.action),
                    body,
                )

        # Lists hold exactly what the caller may see.
        with runtime.db.session() as s:
            all_orgs = {o.id: o for o in s.scalars(select(Org))}
            all_users = list(s.scalars(select(User)))
            all_audit = list(s.scalars(select(AuditEntry)))
        for kind, path in LIST_CASES:
            want = expected(True, caller, kind, Action.LIST)
            r = client.get(path, params={"page_size": 500}, headers=caller.headers())
            tally["requests"] += 1
            tally[outcome(r.status_code)] += 1
            if outcome(r.status_code) != want:
                failures.append(f"list {kind} by {key}: want {want}, got {r.status_code}")
                continue
            if want != "2xx":
                continue
            got_ids = {item["id"] for item in r.json()["items"]}
            if kind is Kind.ORG:
                want_ids = {o.id for o in all_orgs.values() if org_visible(caller, caller_org, o)}
            elif kind is Kind.USER:
                want_ids = {
                    u.id
                    for u in all_users
                    if user_visible(caller, caller_org, u, all_orgs[u.org_id])
                }
            else:
                want_ids = {
                    a.id
                    for a in all_audit
                    if a.org_id in all_orgs and org_visible(caller, caller_org, all_orgs[a.org_id])
                }
            assert r.json()["total"] == len(got_ids) or r.json()["total"] > 500
            if got_ids != want_ids:
                failures.append(f"list {kind} by {key}: {len(got_ids ^ want_ids)} rows differ")

    # Another user's API key cannot be deleted: it does not exist for the caller.
    with runtime.db.session() as s:
        s.add(
            ApiKey(
                user_id=world.accounts["admin@D2"].id, name="k", prefix="vfk_x", key_hash="0" * 64
            )
        )
        key_id = s.scalar(select(ApiKey.id))
    for key, caller in world.accounts.items():
        if key != "admin@D2":
            check(caller, "foreign api key", "DELETE", f"/api/v1/me/api-keys/{key_id}", "404")

    refused = tally["403"] + tally["404"]
    with capsys.disabled():
        print(
            f"\nauthorisation matrix [{runtime.db.engine.dialect.name}]: "
            f"{tally['requests']} requests, {refused} refused "
            f"({tally['403']} with 403, {tally['404']} with 404), {tally['2xx']} allowed"
        )
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} failures)"
    assert tally["403"] > 0 and tally["404"] > 0 and tally["2xx"] > 0
