"""Resetting another user's password (defect 1 of issue 12): never a password the caller chooses,
never on oneself, never on a higher role, always mailed to the user, who must change it first."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import PASSWORD, World, build_world, login
from voltfleet.app.portal.session import COOKIE
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import AuditEntry, OutboxMail


def mails_to(runtime: Runtime, email: str) -> list[str]:
    with runtime.db.session() as s:
        return list(s.scalars(select(OutboxMail.body).where(OutboxMail.to == email)))


def temporary_password(runtime: Runtime, email: str) -> str:
    body = mails_to(runtime, email)[-1]
    return body.split("temporary password is: ")[1].split()[0]


def reset(client: TestClient, w: World, by: str, target: str, **kw: object) -> int:
    r = client.post(
        f"/api/v1/users/{w.accounts[target].id}/reset-password",
        headers=w.accounts[by].headers(),
        **kw,  # type: ignore[arg-type]
    )
    return r.status_code


def test_om_cannot_take_over_an_administrator(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    # The O&M engineer of I1 on I1's administrator, and D1's O&M on the administrator below it.
    for by, target in [("om@I1", "admin@I1"), ("om@D1", "admin@I1"), ("om@D1", "admin@D1")]:
        r = client.post(
            f"/api/v1/users/{w.accounts[target].id}/reset-password",
            headers=w.accounts[by].headers(),
            json={"new_password": "Taken#123"},
        )
        assert r.status_code in (403, 422), (by, target, r.text)
        assert reset(client, w, by, target) == 403
    r = client.post(
        f"/api/v1/users/{w.accounts['admin@I1'].id}/reset-password",
        headers=w.accounts["om@I1"].headers(),
    )
    assert "higher role" in r.json()["detail"]
    # Nothing changed: the administrators sign in with their own password, no mail went out.
    assert login(client, "admin.i1@example.com", PASSWORD)
    assert login(client, "admin.d1@example.com", PASSWORD)
    client.post("/api/v1/auth/token", data={"username": "admin.i1@example.com", "password": "x"})
    assert mails_to(runtime, "admin.i1@example.com") == []


def test_the_caller_never_chooses_the_password(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    r = client.post(
        f"/api/v1/users/{w.accounts['owner@I1'].id}/reset-password",
        headers=w.accounts["admin@I1"].headers(),
        json={"new_password": "Chosen#123"},
    )
    assert r.status_code == 422 and "cannot be chosen" in r.json()["detail"]
    r = client.post(
        "/api/v1/auth/token", data={"username": "owner.i1@example.com", "password": "Chosen#123"}
    )
    assert r.status_code == 401
    assert login(client, "owner.i1@example.com", PASSWORD)


def test_no_reset_of_oneself_by_token_or_api_key(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    admin = w.accounts["admin@I1"]
    key = client.post("/api/v1/me/api-keys", json={"name": "k"}, headers=admin.headers()).json()[
        "key"
    ]
    for headers in (admin.headers(), {"X-API-Key": key}):
        for body in (None, {"new_password": "Mine#1234"}):
            r = client.post(f"/api/v1/users/{admin.id}/reset-password", headers=headers, json=body)
            assert r.status_code in (403, 422), r.text
    r = client.post(f"/api/v1/users/{admin.id}/reset-password", headers={"X-API-Key": key})
    assert r.status_code == 403 and "/api/v1/me/password" in r.json()["detail"]
    assert mails_to(runtime, admin.email) == []
    assert login(client, admin.email, PASSWORD)


def test_reset_mails_a_temporary_password_that_must_be_changed(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    owner, om = w.accounts["owner@I1"], w.accounts["om@I1"]
    import time

    time.sleep(1.05)  # token timestamps have one-second resolution
    r = client.post(f"/api/v1/users/{owner.id}/reset-password", headers=om.headers())
    assert r.status_code == 200 and "mailed" in r.json()["detail"]
    # The user's sessions end; the mail says who reset it and holds the temporary password.
    assert client.get("/api/v1/me", headers=owner.headers()).status_code == 401
    body = mails_to(runtime, owner.email)[-1]
    assert "om I1 (om.i1@example.com) reset your password" in body
    temp = temporary_password(runtime, owner.email)
    r = client.post("/api/v1/auth/token", data={"username": owner.email, "password": temp})
    assert r.status_code == 200 and r.json()["password_change_required"] is True
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    # Everything but changing the password is refused, clearly.
    for method, url in [("GET", "/api/v1/me"), ("GET", "/api/v1/sites"), ("PATCH", "/api/v1/me")]:
        r = client.request(method, url, headers=h, json={} if method == "PATCH" else None)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["code"] == "password_change_required"
        assert "/api/v1/me/password" in r.json()["detail"]
    r = client.post(
        "/api/v1/me/password", headers=h, json={"current_password": temp, "new_password": temp}
    )
    assert r.status_code == 422  # not the temporary one again
    r = client.post(
        "/api/v1/me/password",
        headers=h,
        json={"current_password": temp, "new_password": "Own#56789"},
    )
    assert r.status_code == 200
    token = login(client, owner.email, "Own#56789")
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    with runtime.db.session() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.reset_password")
        ).one()
        assert entry.actor_id == om.id and entry.object_id == owner.id


def test_rank_rules_for_other_user_actions(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    # Peers: an administrator resets and renames a fellow administrator of the organisation below.
    assert reset(client, w, "admin@D1", "admin@I1") == 200
    r = client.patch(
        f"/api/v1/users/{w.accounts['admin@I1'].id}",
        headers=w.accounts["admin@D1"].headers(),
        json={"username": "renamed"},
    )
    assert r.status_code == 200
    # The superuser ranks above every administrator.
    from voltfleet.app.users.service import new_user

    with runtime.db.session() as s:
        pa = new_user(
            s,
            runtime,
            email="pa@example.com",
            username="pa",
            password="Plat#1234",
            org_id=w.org_id("P"),
            role="admin",
        )
    token = login(client, pa.email, "Plat#1234")
    h = {"Authorization": f"Bearer {token}"}
    root = w.accounts["super"].id
    assert (
        client.patch(f"/api/v1/users/{root}", headers=h, json={"username": "x"}).status_code == 403
    )
    assert client.delete(f"/api/v1/users/{root}", headers=h).status_code == 403


def test_portal_sends_a_reset_user_to_change_the_password(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    # The O&M engineer's users page offers no reset of the administrator, and refuses one.
    client.cookies.set(COOKIE, w.accounts["om@I1"].token)
    page = client.get("/account/users")
    assert page.status_code == 200
    admin_row = page.text.split('data-email="admin.i1@example.com"')[1].split("</tr>")[0]
    owner_row = page.text.split('data-email="owner.i1@example.com"')[1].split("</tr>")[0]
    assert "reset-password" not in admin_row and "reset-password" in owner_row
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        f"/account/users/{w.accounts['admin@I1'].id}/reset-password", data={"csrf": csrf}
    )
    assert "higher role" in r.text
    assert mails_to(runtime, "admin.i1@example.com") == []
    r = client.post(
        f"/account/users/{w.accounts['owner@I1'].id}/reset-password", data={"csrf": csrf}
    )
    assert "temporary password was mailed" in r.text
    client.cookies.clear()
    # The owner signs in with the temporary password: every page leads to the change form.
    temp = temporary_password(runtime, "owner.i1@example.com")
    r = client.post(
        "/login",
        data={"email": "owner.i1@example.com", "password": temp},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    r = client.get("/home", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    page = client.get("/account/password")
    assert page.status_code == 200 and "Your password was reset" in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        "/account/password",
        data={"csrf": csrf, "current_password": temp, "new_password": "Mine#2468"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/home"
    assert client.get("/home", follow_redirects=False).status_code == 200
