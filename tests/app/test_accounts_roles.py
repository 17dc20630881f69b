"""Accounts and roles as the inverter-cloud manual's role table says (issue 19): who may add and
edit companies and users, the deregister bug with deleted (retained) sites, sharing with an
organisation outside one's subtree by its exact name or access code, and the outbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import PASSWORD, Account, World, build_world, login
from voltfleet.app.portal.session import COOKIE
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import AuditEntry, Org, OutboxMail, Site, User


def _deleted_site(runtime: Runtime, org_id: str, name: str = "gone") -> str:
    """A site deleted yesterday and kept for the retention period."""
    now = datetime.now(UTC)
    with runtime.db.session() as s:
        site = Site(
            org_id=org_id,
            name=name,
            deleted_at=now - timedelta(days=1),
            purge_after=now + timedelta(days=29),
        )
        s.add(site)
        s.flush()
        return site.id


def _only_admin(runtime: Runtime, w: World, label: str) -> Account:
    """Leave the organisation with its administrator alone (no other users)."""
    with runtime.db.session() as s:
        for key in (f"om@{label}", f"owner@{label}"):
            user = s.get(User, w.accounts[key].id)
            s.delete(user)
    return w.accounts[f"admin@{label}"]


# --- the bug: deleted (retained) sites are no linked assets --------------------------------------


def test_last_administrator_deregisters_when_the_company_has_only_deleted_sites(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    admin = _only_admin(runtime, w, "I2")
    _deleted_site(runtime, w.org_id("I2"))
    r = client.request("DELETE", "/api/v1/me", headers=admin.headers(), json={"password": PASSWORD})
    assert r.status_code == 204, r.text
    # A live site still holds the last administrator.
    admin1 = _only_admin(runtime, w, "I1")
    with runtime.db.session() as s:
        s.add(Site(org_id=w.org_id("I1"), name="live"))
    r = client.request(
        "DELETE", "/api/v1/me", headers=admin1.headers(), json={"password": PASSWORD}
    )
    assert r.status_code == 409 and "your organisation's sites" in r.json()["detail"]


def test_a_company_whose_sites_are_all_deleted_can_be_deleted(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    admin = w.accounts["admin@D2"]
    with runtime.db.session() as s:
        for user in s.scalars(select(User).where(User.org_id == w.org_id("I2"))):
            s.delete(user)
    kept = _deleted_site(runtime, w.org_id("I2"))
    r = client.delete(f"/api/v1/orgs/{w.org_id('I2')}", headers=admin.headers())
    assert r.status_code == 204, r.text
    with runtime.db.session() as s:
        assert s.get(Org, w.org_id("I2")) is None
        site = s.get(Site, kept)
        # The retained site stays until its purge, under the deleted company's superior.
        assert site is not None and site.org_id == w.org_id("D2") and site.deleted_at
    # A live site still keeps its company.
    with runtime.db.session() as s:
        for user in s.scalars(select(User).where(User.org_id == w.org_id("I1"))):
            s.delete(user)
        s.add(Site(org_id=w.org_id("I1"), name="live"))
    r = client.delete(f"/api/v1/orgs/{w.org_id('I1')}", headers=w.accounts["admin@D1"].headers())
    assert r.status_code == 409 and "sites" in r.json()["detail"]


# --- the role table: O&M engineers add and edit companies and add users ------------------------


def test_om_engineers_add_and_edit_companies_but_only_administrators_delete(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    om, admin = w.accounts["om@D1"], w.accounts["admin@D1"]
    r = client.post(
        "/api/v1/orgs", headers=om.headers(), json={"name": "Roofers", "type": "installer"}
    )
    assert r.status_code == 201, r.text
    org_id = r.json()["id"]
    r = client.patch(
        f"/api/v1/orgs/{org_id}",
        headers=om.headers(),
        json={"address": "Hauptstr. 1, Berlin", "country": "DE", "description": "PV"},
    )
    assert r.status_code == 200 and r.json()["address"] == "Hauptstr. 1, Berlin"
    r = client.put(
        f"/api/v1/orgs/{org_id}/logo",
        headers=om.headers(),
        files={"file": ("l.png", b"\x89PNG", "image/png")},
    )
    assert r.status_code == 204
    r = client.get(f"/api/v1/orgs/{org_id}/logo", headers=om.headers())
    assert r.content == b"\x89PNG" and r.headers["content-type"] == "image/png"
    bad = {"file": ("l.txt", b"x", "text/plain")}
    assert (
        client.put(f"/api/v1/orgs/{org_id}/logo", headers=om.headers(), files=bad).status_code
        == 415
    )
    old = r = client.get(f"/api/v1/orgs/{org_id}", headers=om.headers()).json()["access_code"]
    r = client.post(f"/api/v1/orgs/{org_id}/access-code", headers=om.headers())
    assert r.status_code == 200 and r.json()["access_code"] != old
    # Deleting: refused to the O&M engineer (403), done by the administrator.
    r = client.delete(f"/api/v1/orgs/{org_id}", headers=om.headers())
    assert r.status_code == 403
    assert client.delete(f"/api/v1/orgs/{org_id}", headers=admin.headers()).status_code == 204
    # Owners do neither.
    owner = w.accounts["owner@D1"]
    r = client.post(
        "/api/v1/orgs", headers=owner.headers(), json={"name": "X", "type": "installer"}
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/orgs/{w.org_id('D1')}", headers=owner.headers(), json={"address": "x"}
    )
    assert r.status_code == 403


def test_om_engineers_add_users_but_only_administrators_change_roles_and_delete(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    om, admin = w.accounts["om@I1"], w.accounts["admin@I1"]
    body = {"email": "fresh@example.com", "username": "Fresh", "password": "Good#123"}
    r = client.post("/api/v1/users", headers=om.headers(), json={**body, "role": "owner"})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    # Never a role above their own.
    r = client.post(
        "/api/v1/users",
        headers=om.headers(),
        json={**body, "email": "boss@example.com", "role": "admin"},
    )
    assert r.status_code == 403
    # Basic information: yes; a role, even the one the user has: no.
    r = client.patch(
        f"/api/v1/users/{user_id}", headers=om.headers(), json={"description": "roof team"}
    )
    assert r.status_code == 200 and r.json()["description"] == "roof team"
    for role in ("om", "owner"):
        r = client.patch(f"/api/v1/users/{user_id}", headers=om.headers(), json={"role": role})
        assert r.status_code == 403, role
    assert client.delete(f"/api/v1/users/{user_id}", headers=om.headers()).status_code == 403
    r = client.patch(f"/api/v1/users/{user_id}", headers=admin.headers(), json={"role": "om"})
    assert r.status_code == 200 and r.json()["role"] == "om"
    assert client.delete(f"/api/v1/users/{user_id}", headers=admin.headers()).status_code == 204
    # Owners add nobody.
    r = client.post(
        "/api/v1/users",
        headers=w.accounts["owner@I1"].headers(),
        json={**body, "email": "o2@example.com"},
    )
    assert r.status_code == 403


def test_a_generated_password_is_mailed_with_the_public_link_and_must_be_changed(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "public_url", "https://fleet.example.com/")
    w = build_world(runtime)
    om = w.accounts["om@I1"]
    supervisor = w.accounts["admin@I1"].id
    r = client.post(
        "/api/v1/users",
        headers=om.headers(),
        json={
            "email": "gen@example.com",
            "username": "Gen",
            "supervisor_id": supervisor,
            "description": "night shift",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["supervisor_id"] == supervisor and r.json()["description"] == "night shift"
    with runtime.db.session() as s:
        mail = s.scalar(select(OutboxMail).where(OutboxMail.to == "gen@example.com"))
        assert mail is not None and "https://fleet.example.com/login" in mail.body
        password = re.search(r"temporary password is: (\S+)", mail.body)
    assert password is not None
    token = login(client, "gen@example.com", password.group(1))
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["code"] == "password_change_required"
    # A supervisor from another tenant is no supervisor (it does not exist for the caller).
    r = client.post(
        "/api/v1/users",
        headers=om.headers(),
        json={
            "email": "gen2@example.com",
            "username": "Gen",
            "supervisor_id": w.accounts["admin@I2"].id,
        },
    )
    assert r.status_code == 400 and "supervisor_id" in r.json()["detail"]


# --- sharing with an organisation outside one's own subtree --------------------------------------


def _site(runtime: Runtime, org_id: str) -> str:
    with runtime.db.session() as s:
        site = Site(org_id=org_id, name="Shared home")
        s.add(site)
        s.flush()
        return site.id


def test_a_site_is_shared_outside_the_subtree_by_access_code_or_exact_name_only(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    admin = w.accounts["admin@I1"]
    site_id = _site(runtime, w.org_id("I1"))
    other = w.orgs["I2"]
    # Another tenant's name is neither listed nor found by a part of it.
    names = [o["name"] for o in client.get("/api/v1/orgs", headers=admin.headers()).json()["items"]]
    assert names == ["Org I1"]
    r = client.get("/api/v1/orgs", headers=admin.headers(), params={"q": "Org I"})
    assert [o["name"] for o in r.json()["items"]] == ["Org I1"]
    url = f"/api/v1/sites/{site_id}/shares"
    for guess in ("Org I", "Org", "I2", other.access_code[:4]):
        r = client.post(url, headers=admin.headers(), json={"org": guess})
        assert r.status_code == 404, (guess, r.text)
        assert r.json()["detail"] == "no organisation has exactly this name or access code"
    # The access code finds it; so does the exact name (letter case aside).
    r = client.post(url, headers=admin.headers(), json={"org": other.access_code.lower()})
    assert r.status_code == 201 and r.json()["org_name"] == "Org I2"
    client.delete(f"{url}/{other.id}", headers=admin.headers())
    r = client.post(url, headers=admin.headers(), json={"org": "  org   i2 "})
    assert r.status_code == 201 and r.json()["org_id"] == other.id
    # The receiver sees the site now.
    receiver = w.accounts["om@I2"]
    assert client.get(f"/api/v1/sites/{site_id}", headers=receiver.headers()).status_code == 200
    # A regenerated code no longer finds the organisation.
    old = other.access_code
    client.post(f"/api/v1/orgs/{other.id}/access-code", headers=w.accounts["admin@I2"].headers())
    r = client.post(url, headers=admin.headers(), json={"org": old})
    assert r.status_code == 404
    # O&M engineers and owners do not share.
    r = client.post(url, headers=w.accounts["om@I1"].headers(), json={"org": "Org D2"})
    assert r.status_code == 403


def test_lookups_of_organisations_are_rate_limited(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "share_lookup_limit", "3/hour")
    w = build_world(runtime)
    admin = w.accounts["admin@I1"]
    url = f"/api/v1/sites/{_site(runtime, w.org_id('I1'))}/shares"
    for n in range(3):
        r = client.post(url, headers=admin.headers(), json={"org": f"guess {n}"})
        assert r.status_code == 404
    r = client.post(url, headers=admin.headers(), json={"org": "Org I2"})
    assert r.status_code == 429 and "Too many look-ups" in r.json()["detail"]
    # Another user has a budget of their own.
    r = client.post(url, headers=w.accounts["admin@D1"].headers(), json={"org": "Org I2"})
    assert r.status_code == 201


# --- the outbox, the menus, the confirmation pages -----------------------------------------------


def _portal(client: TestClient, runtime: Runtime, account: Account) -> str:
    """Sign the test client in to the portal as ``account``; returns its CSRF token."""
    client.cookies.set(COOKIE, account.token)
    return runtime.security.csrf_token(account.token)


def test_the_outbox_is_for_a_signed_in_superuser_in_demo_and_test_modes_only(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build_world(runtime)
    r = client.get("/outbox", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    _portal(client, runtime, w.accounts["admin@D1"])
    assert client.get("/outbox").status_code == 403
    _portal(client, runtime, w.accounts["super"])
    r = client.get("/outbox")
    assert r.status_code == 200 and "Mail outbox" in r.text
    for mode in ("production", "dev"):
        monkeypatch.setattr(runtime.settings, "mode", mode)
        assert client.get("/outbox").status_code == 404
    monkeypatch.setattr(runtime.settings, "mode", "demo")
    assert client.get("/outbox").status_code == 200


def test_owners_see_no_menu_they_may_not_use(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    _portal(client, runtime, w.accounts["owner@I1"])
    home = client.get("/home").text
    assert 'href="/upgrade"' not in home and 'href="/site"' in home
    assert 'href="/maintenance/quarantine"' not in client.get("/maintenance/alarms").text
    profile = client.get("/account/profile").text
    assert 'href="/account/companies"' not in profile and 'href="/account/users"' not in profile
    _portal(client, runtime, w.accounts["om@I1"])
    assert 'href="/upgrade"' in client.get("/home").text
    assert 'href="/maintenance/quarantine"' in client.get("/maintenance/alarms").text
    assert 'href="/account/companies"' in client.get("/account/profile").text


def test_a_password_reset_in_the_portal_asks_first(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    csrf = _portal(client, runtime, w.accounts["om@I1"])
    target = w.accounts["owner@I1"]
    page = client.get(f"/account/users/{target.id}/reset-password")
    assert page.status_code == 200 and 'id="confirm-reset"' in page.text
    with runtime.db.session() as s:
        assert not s.get(User, target.id).must_change_password  # type: ignore[union-attr]
    r = client.post(f"/account/users/{target.id}/reset-password", data={"csrf": csrf})
    assert "A temporary password was mailed to the user." in r.text
    with runtime.db.session() as s:
        assert s.get(User, target.id).must_change_password  # type: ignore[union-attr]


def test_the_users_page_names_roles_and_companies_and_om_engineers_add_users(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    csrf = _portal(client, runtime, w.accounts["om@D1"])
    page = client.get("/account/users").text
    assert 'id="add-user"' in page and "O&M engineer" in page and "Org I1" in page
    assert "role-form" not in page and ">Delete<" not in page
    assert '<option value="admin">' not in page  # no role above their own to give
    r = client.post(
        "/account/users",
        data={
            "csrf": csrf,
            "email": "portal@example.com",
            "username": "Portal",
            "role": "owner",
            "password_mode": "generate",
            "org_id": w.org_id("I1"),
            "supervisor_id": w.accounts["admin@I1"].id,
            "description": "from the portal",
        },
    )
    assert "User portal@example.com created: a temporary password was mailed to them." in r.text
    with runtime.db.session() as s:
        user = s.scalar(select(User).where(User.email == "portal@example.com"))
        assert user is not None and user.must_change_password and user.org_id == w.org_id("I1")
        assert user.supervisor_id == w.accounts["admin@I1"].id
    r = client.post(
        "/account/users",
        data={
            "csrf": csrf,
            "email": "p2@example.com",
            "username": "P",
            "role": "owner",
            "password_mode": "custom",
        },
    )
    assert "Type the password" in r.text


def test_the_company_page_edits_and_the_tree_shows_the_companies(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    csrf = _portal(client, runtime, w.accounts["om@D1"])
    tree = client.get("/account/companies").text
    assert 'id="company-tree"' in tree and "Org I1" in tree
    assert 'href="/account/companies/' in tree and "/delete" not in tree  # O&M: no delete
    org_id = w.org_id("I1")
    r = client.post(
        f"/account/companies/{org_id}",
        data={
            "csrf": csrf,
            "name": "Org I1",
            "country": "AT",
            "address": "Ring 1, Wien",
            "description": "installs",
        },
    )
    assert r.status_code == 200 and "Company saved." in r.text, r.text
    with runtime.db.session() as s:
        org = s.get(Org, org_id)
        assert org is not None and (org.country, org.address) == ("AT", "Ring 1, Wien")
    old = org.access_code
    r = client.post(f"/account/companies/{org_id}/access-code", data={"csrf": csrf})
    assert "A new access code was made" in r.text and old not in r.text
    # Another tenant's company page does not exist for the caller.
    assert client.get(f"/account/companies/{w.org_id('I2')}").status_code == 404
    # Owners have no company pages (nor the access code on them).
    _portal(client, runtime, w.accounts["owner@I1"])
    assert client.get(f"/account/companies/{org_id}").status_code == 403


def test_voltfleet_check_warns_without_a_public_url_in_production(runtime: Runtime) -> None:
    from voltfleet.app.ops.config_check import public_url

    settings = runtime.settings.model_copy(update={"mode": "production", "public_url": ""})
    found = public_url(settings)
    assert found.ok and found.warning and "VOLTFLEET_PUBLIC_URL" in found.detail
    settings = settings.model_copy(update={"public_url": "https://fleet.example.com"})
    assert not public_url(settings).warning


# --- registration, change of email, deregistering in the portal ----------------------------------


def _code(runtime: Runtime, to: str) -> str:
    with runtime.db.session() as s:
        body = s.scalar(
            select(OutboxMail.body)
            .where(OutboxMail.to == to)
            .order_by(OutboxMail.created_at.desc())
        )
    found = re.search(r"Your code is (\d{6})", body or "")
    assert found, body
    return found.group(1)


def test_registration_asks_for_the_password_twice_the_terms_and_a_region(
    client: TestClient, runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build_world(runtime)
    page = client.get("/register").text
    assert 'name="password_confirm"' in page and 'name="accept_terms"' in page
    assert '<option value="DE"' in page and 'href="/terms"' in page and 'href="/privacy"' in page
    # The shipped texts, until the operator puts its own in the legal directory.
    assert "default terms of use shipped with voltfleet" in client.get("/terms").text
    (tmp_path / "terms.md").write_text("Our terms\n\nBe nice to the inverters.\n")
    monkeypatch.setattr(runtime.settings, "legal_dir", tmp_path)
    terms = client.get("/terms").text
    assert "Be nice to the inverters." in terms and "shipped" not in terms
    assert "default privacy policy" in client.get("/privacy").text  # not replaced: shipped
    email = "reg@example.com"
    client.post("/register/code", data={"email": email})
    form = {
        "account_type": "installer",
        "email": email,
        "code": _code(runtime, email),
        "password": "Fresh#123",
        "password_confirm": "Fresh#124",
        "username": "Reg",
        "access_code": w.orgs["D1"].access_code,
        "org_name": "Reg Roofs",
        "country": "DE",
        "accept_terms": "on",
    }
    r = client.post("/register", data=form)
    assert r.status_code == 400 and "the two passwords differ" in r.text
    r = client.post("/register", data={**form, "password_confirm": "Fresh#123", "accept_terms": ""})
    assert r.status_code == 400 and "accept the terms of use" in r.text
    r = client.post("/register", data={**form, "password_confirm": "Fresh#123", "country": "QQ"})
    assert r.status_code == 400 and "choose a region" in r.text
    r = client.post(
        "/register", data={**form, "password_confirm": "Fresh#123"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    with runtime.db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "account.register"))
        assert entry is not None and set(entry.detail["accepted"]) == {"terms", "privacy"}
    # The API refuses a registration that says it does not accept the terms.
    r = client.post(
        "/api/v1/auth/register",
        json={**form, "email": "api@example.com", "accept_terms": False, "password_confirm": None},
    )
    assert r.status_code == 400 and "accept the terms" in r.json()["detail"]


def test_email_change_and_deregistering_work_in_the_portal(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    owner = w.accounts["owner@I2"]
    csrf = _portal(client, runtime, owner)
    r = client.post("/account/profile/email/start", data={"csrf": csrf})
    assert 'id="email-new-form"' in r.text
    r = client.post(
        "/account/profile/email/new",
        data={"csrf": csrf, "old_code": _code(runtime, owner.email), "new_email": "n@example.com"},
    )
    assert 'id="email-confirm-form"' in r.text
    r = client.post(
        "/account/profile/email/confirm",
        data={"csrf": csrf, "code": _code(runtime, "n@example.com")},
    )
    assert "Your email is now n@example.com." in r.text
    # Deregistering: a page that asks for the password first.
    page = client.get("/account/deregister").text
    assert 'id="deregister-form"' in page
    r = client.post("/account/deregister", data={"csrf": csrf, "password": "wrong"})
    assert r.status_code == 403
    r = client.post(
        "/account/deregister", data={"csrf": csrf, "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with runtime.db.session() as s:
        assert s.get(User, owner.id) is None
    # An owner of a live site is told what to hand over instead of a form.
    other = w.accounts["owner@I1"]
    with runtime.db.session() as s:
        s.add(Site(org_id=w.org_id("I1"), owner_id=other.id, name="Home"))
    _portal(client, runtime, other)
    page = client.get("/account/deregister").text
    assert 'id="linked-assets"' in page and 'id="deregister-form"' not in page


def test_the_site_page_shares_with_a_company_found_by_its_access_code(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    csrf = _portal(client, runtime, w.accounts["admin@I1"])
    site_id = _site(runtime, w.org_id("I1"))
    page = client.get(f"/site/{site_id}/settings").text  # the site's actions: its Settings tab
    assert 'id="share-outside"' in page and "Org I2" not in page  # no other tenant listed
    r = client.post(f"/site/{site_id}/share-outside", data={"csrf": csrf, "org": "Org I"})
    assert "no organisation has exactly this name or access code" in r.text
    code = w.orgs["I2"].access_code
    r = client.post(f"/site/{site_id}/share-outside", data={"csrf": csrf, "org": code})
    assert "Site shared with Org I2." in r.text


def test_om_engineers_edit_a_users_basic_information_in_the_portal(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    csrf = _portal(client, runtime, w.accounts["om@I1"])
    target, boss = w.accounts["owner@I1"], w.accounts["admin@I1"]
    assert f'href="/account/users/{target.id}/edit"' in client.get("/account/users").text
    form = {"csrf": csrf, "username": "Olga", "country": "at", "description": "roof 7"}
    r = client.post(f"/account/users/{target.id}/edit", data={**form, "supervisor_id": boss.id})
    assert "Saved." in r.text
    with runtime.db.session() as s:
        user = s.get(User, target.id)
        assert user is not None
        assert (user.username, user.country, user.description) == ("Olga", "AT", "roof 7")
        assert user.supervisor_id == boss.id
    r = client.post(f"/account/users/{target.id}/edit", data={**form, "supervisor_id": ""})
    with runtime.db.session() as s:
        assert s.get(User, target.id).supervisor_id is None  # type: ignore[union-attr]
    # Not on an administrator (a higher role), and owners edit nobody.
    r = client.post(f"/account/users/{boss.id}/edit", data=form)
    assert 'id="error"' in r.text and "higher role" in r.text
    _portal(client, runtime, target)
    assert client.get(f"/account/users/{target.id}/edit").status_code == 403
