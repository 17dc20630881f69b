"""Sign-in, tokens, API keys, rate limits, registration and forgotten passwords."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import PASSWORD, build_world, login
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import AuditEntry, OutboxMail


def last_code(runtime: Runtime, to: str) -> str:
    with runtime.db.session() as s:
        mail = s.scalars(
            select(OutboxMail).where(OutboxMail.to == to).order_by(OutboxMail.created_at.desc())
        ).first()
        assert mail is not None, f"no mail to {to}"
        found = re.search(r"\b(\d{6})\b", mail.body)
        assert found, mail.body
        return found.group(1)


def test_token_and_me(client: TestClient, runtime: Runtime) -> None:
    build_world(runtime)
    token = login(client, "admin.i1@example.com")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["email"] == "admin.i1@example.com"
    assert body["org"]["name"] == "Org I1"
    assert "change_role" in body["permissions"]["user"]


def test_wrong_password_is_401_with_message(client: TestClient, runtime: Runtime) -> None:
    build_world(runtime)
    r = client.post(
        "/api/v1/auth/token", data={"username": "admin.i1@example.com", "password": "Nope#1234"}
    )
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong email or password"
    r = client.post(
        "/api/v1/auth/token", data={"username": "nobody@example.com", "password": "Nope#1234"}
    )
    assert r.status_code == 401


def test_no_credentials_is_401(client: TestClient, runtime: Runtime) -> None:
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert "Bearer" in r.json()["detail"]
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401


def test_login_is_rate_limited_per_account(client: TestClient, runtime: Runtime) -> None:
    build_world(runtime)
    codes = [
        client.post(
            "/api/v1/auth/token", data={"username": "om.i1@example.com", "password": "Wrong#123"}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    # The right password is refused too while the account is limited.
    r = client.post(
        "/api/v1/auth/token", data={"username": "om.i1@example.com", "password": PASSWORD}
    )
    assert r.status_code == 429
    assert "Retry-After" in r.headers
    # Another account from the same address still signs in.
    assert login(client, "om.i2@example.com")


def test_api_key_authenticates_and_can_be_revoked(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    admin = w.accounts["admin@I1"]
    r = client.post("/api/v1/me/api-keys", json={"name": "integration"}, headers=admin.headers())
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("vfk_")
    listed = client.get("/api/v1/me/api-keys", headers=admin.headers()).json()
    assert [k["name"] for k in listed] == ["integration"]
    assert "key" not in listed[0]
    r = client.get("/api/v1/users", headers={"X-API-Key": key})
    assert r.status_code == 200
    assert {u["email"] for u in r.json()["items"]} == {
        "admin.i1@example.com",
        "om.i1@example.com",
        "owner.i1@example.com",
    }
    assert (
        client.delete(f"/api/v1/me/api-keys/{listed[0]['id']}", headers=admin.headers()).status_code
        == 204
    )
    assert client.get("/api/v1/users", headers={"X-API-Key": key}).status_code == 401


def test_password_change_signs_out_old_tokens(client: TestClient, runtime: Runtime) -> None:
    build_world(runtime)
    old = login(client, "owner.i1@example.com")
    h = {"Authorization": f"Bearer {old}"}
    r = client.post(
        "/api/v1/me/password",
        headers=h,
        json={"current_password": "bad", "new_password": "Better#456"},
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/me/password",
        headers=h,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert r.status_code == 422
    assert "6 to 18 characters" in r.json()["detail"]
    import time

    time.sleep(1.05)  # token timestamps have one-second resolution
    r = client.post(
        "/api/v1/me/password",
        headers=h,
        json={"current_password": PASSWORD, "new_password": "Better#456"},
    )
    assert r.status_code == 200
    assert client.get("/api/v1/me", headers=h).status_code == 401
    assert login(client, "owner.i1@example.com", "Better#456")


def test_register_installer_under_distributor(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    code_of_d1 = w.orgs["D1"].access_code
    r = client.post("/api/v1/auth/register/code", json={"email": "new@example.com"})
    assert r.status_code == 202
    code = last_code(runtime, "new@example.com")
    wrong = "000000" if code != "000000" else "111111"
    body = {
        "account_type": "installer",
        "email": "new@example.com",
        "code": wrong,
        "password": "Fresh#123",
        "username": "Newbie",
        "access_code": code_of_d1,
        "org_name": "New Roofs",
        "country": "DE",
    }
    r = client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 400
    assert "wrong code (4 attempts left)" in r.json()["detail"]
    r = client.post("/api/v1/auth/register", json={**body, "code": code})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["org"]["parent_id"] == w.org_id("D1")
    assert created["user"]["role"] == "admin"
    # The distributor's administrator now sees the new installer and its user.
    d1 = w.accounts["admin@D1"]
    orgs = client.get("/api/v1/orgs", headers=d1.headers()).json()["items"]
    assert "New Roofs" in {o["name"] for o in orgs}
    # ... and the other distributor does not.
    d2 = w.accounts["admin@D2"]
    orgs = client.get("/api/v1/orgs", headers=d2.headers()).json()["items"]
    assert "New Roofs" not in {o["name"] for o in orgs}
    # A code is used once (and the code is checked before whether the email is taken, so the
    # answer does not tell a stranger that the address is registered).
    r = client.post(
        "/api/v1/auth/register", json={**body, "code": code, "email": "new@example.com"}
    )
    assert r.status_code == 400 and "never requested" in r.json()["detail"]
    with runtime.db.session() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert "account.register" in actions


def test_register_refusals(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    base = {
        "account_type": "owner",
        "email": "o@example.com",
        "code": "123456",
        "password": "Fresh#123",
        "username": "O",
        "access_code": "NOSUCHCODE",
    }
    r = client.post("/api/v1/auth/register", json=base)
    assert r.status_code == 400 and "access code" in r.json()["detail"]
    r = client.post(
        "/api/v1/auth/register",
        json={**base, "access_code": w.orgs["I1"].access_code, "password": "alllowercase1!"},
    )
    assert r.status_code == 422 and "upper-case" in r.json()["detail"]
    r = client.post("/api/v1/auth/register", json={**base, "access_code": w.orgs["I1"].access_code})
    assert r.status_code == 400 and "never requested" in r.json()["detail"]
    # A registered email gets the same answer as a new one (and a notice by mail, no code).
    r = client.post("/api/v1/auth/register/code", json={"email": "admin.i1@example.com"})
    assert r.status_code == 202
    r = client.post("/api/v1/auth/register/code", json={"email": "not-an-email"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    # A distributor cannot sit under an installer.
    client.post("/api/v1/auth/register/code", json={"email": "d@example.com"})
    code = last_code(runtime, "d@example.com")
    r = client.post(
        "/api/v1/auth/register",
        json={
            **base,
            "account_type": "distributor",
            "email": "d@example.com",
            "code": code,
            "access_code": w.orgs["I1"].access_code,
            "org_name": "Bad Dist",
        },
    )
    assert r.status_code == 400 and "cannot be placed under" in r.json()["detail"]


def test_owner_registration_and_forgotten_password(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    client.post("/api/v1/auth/register/code", json={"email": "home@example.com"})
    r = client.post(
        "/api/v1/auth/register",
        json={
            "account_type": "owner",
            "email": "home@example.com",
            "code": last_code(runtime, "home@example.com"),
            "password": "Home#1234",
            "username": "Home",
            "access_code": w.orgs["I1"].access_code.lower(),
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["user"]["org_id"] == w.org_id("I1")
    assert r.json()["user"]["role"] == "owner"
    # Forgotten password: same answer for unknown accounts.
    assert (
        client.post("/api/v1/auth/password/forgot", json={"email": "ghost@example.com"}).status_code
        == 202
    )
    assert (
        client.post("/api/v1/auth/password/forgot", json={"email": "home@example.com"}).status_code
        == 202
    )
    code = last_code(runtime, "home@example.com")
    r = client.post(
        "/api/v1/auth/password/reset",
        json={"email": "home@example.com", "code": code, "new_password": "Again#5678"},
    )
    assert r.status_code == 200
    assert login(client, "home@example.com", "Again#5678")


def test_codes_are_rate_limited(client: TestClient, runtime: Runtime) -> None:
    statuses = [
        client.post("/api/v1/auth/register/code", json={"email": "x@example.com"}).status_code
        for _ in range(6)
    ]
    assert statuses == [202] * 5 + [429]


def test_change_email_needs_both_codes(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    me = w.accounts["om@I1"]
    assert client.post("/api/v1/me/email/start", headers=me.headers()).status_code == 202
    old_code = last_code(runtime, me.email)
    r = client.post(
        "/api/v1/me/email/new",
        headers=me.headers(),
        json={"old_code": old_code, "new_email": "admin.i2@example.com"},
    )
    assert r.status_code == 409  # taken
    r = client.post(
        "/api/v1/me/email/new",
        headers=me.headers(),
        json={"old_code": old_code, "new_email": "moved@example.com"},
    )
    assert r.status_code == 202
    r = client.post("/api/v1/me/email/confirm", headers=me.headers(), json={"code": "999999x"})
    assert r.status_code == 400
    r = client.post(
        "/api/v1/me/email/confirm",
        headers=me.headers(),
        json={"code": last_code(runtime, "moved@example.com")},
    )
    assert r.status_code == 200
    assert (
        client.get("/api/v1/me", headers=me.headers()).json()["user"]["email"]
        == "moved@example.com"
    )


def test_profile_and_avatar(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    me = w.accounts["owner@I1"]
    r = client.patch(
        "/api/v1/me", headers=me.headers(), json={"currency": "CHF", "username": "Otto"}
    )
    assert r.status_code == 200 and r.json()["user"]["currency"] == "CHF"
    assert (
        client.patch("/api/v1/me", headers=me.headers(), json={"currency": "euro"}).status_code
        == 422
    )
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = client.put(
        "/api/v1/me/avatar", headers=me.headers(), files={"file": ("a.png", png, "image/png")}
    )
    assert r.status_code == 204
    r = client.put(
        "/api/v1/me/avatar", headers=me.headers(), files={"file": ("a.txt", b"hello", "text/plain")}
    )
    assert r.status_code == 415
    r = client.get(f"/api/v1/users/{me.id}/avatar", headers=me.headers())
    assert r.status_code == 200 and r.content == png
    # The installer's admin sees it; another distributor's admin does not.
    assert (
        client.get(
            f"/api/v1/users/{me.id}/avatar", headers=w.accounts["admin@I1"].headers()
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/users/{me.id}/avatar", headers=w.accounts["admin@D2"].headers()
        ).status_code
        == 404
    )


def test_deregister_refused_while_assets_linked(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    from voltfleet.store.models import Site

    owner = w.accounts["owner@I1"]
    with runtime.db.session() as s:
        s.add(Site(org_id=w.org_id("I1"), owner_id=owner.id, name="Home"))
    r = client.request("DELETE", "/api/v1/me", headers=owner.headers(), json={"password": PASSWORD})
    assert r.status_code == 409 and "sites you own" in r.json()["detail"]
    other = w.accounts["owner@I2"]
    r = client.request("DELETE", "/api/v1/me", headers=other.headers(), json={"password": "x"})
    assert r.status_code == 403
    r = client.request("DELETE", "/api/v1/me", headers=other.headers(), json={"password": PASSWORD})
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=other.headers()).status_code == 401
