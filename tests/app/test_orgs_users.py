"""Organisation and user management behaviour beyond who-may-do-what."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import build_world, login
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import AuditEntry, Site


def test_org_crud_and_tree(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    admin = w.accounts["admin@D1"]
    r = client.post(
        "/api/v1/orgs",
        headers=admin.headers(),
        json={"name": "Sub Installer", "type": "installer", "country": "AT"},
    )
    assert r.status_code == 201
    org = r.json()
    assert org["parent_id"] == w.org_id("D1") and len(org["access_code"]) == 8
    r = client.post(
        "/api/v1/orgs",
        headers=admin.headers(),
        json={"name": "Child", "type": "distributor", "parent_id": org["id"]},
    )
    assert r.status_code == 400 and "cannot be placed under an installer" in r.json()["detail"]
    r = client.post("/api/v1/orgs", headers=admin.headers(), json={"name": "", "type": "shop"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"name", "type"}
    listing = client.get(
        "/api/v1/orgs", headers=admin.headers(), params={"type": "installer", "page_size": 1}
    ).json()
    assert listing["total"] == 2 and len(listing["items"]) == 1
    r = client.patch(f"/api/v1/orgs/{org['id']}", headers=admin.headers(), json={"name": "Renamed"})
    assert r.json()["name"] == "Renamed"
    assert (
        client.delete(f"/api/v1/orgs/{w.org_id('D1')}", headers=admin.headers()).status_code == 403
    )
    # An organisation with users or sites is not deleted by accident.
    r = client.delete(f"/api/v1/orgs/{w.org_id('I1')}", headers=admin.headers())
    assert r.status_code == 409 and "users" in r.json()["detail"]
    assert client.delete(f"/api/v1/orgs/{org['id']}", headers=admin.headers()).status_code == 204
    assert client.get(f"/api/v1/orgs/{org['id']}", headers=admin.headers()).status_code == 404
    with runtime.db.session() as s:
        actions = [a for a in s.scalars(select(AuditEntry.action).order_by(AuditEntry.at))]
    assert actions[-3:] == ["org.create", "org.update", "org.delete"]
    audit = client.get("/api/v1/audit", headers=admin.headers(), params={"action": "org.delete"})
    assert audit.status_code == 200 and audit.json()["items"][0]["actor_email"] == admin.email
    assert audit.json()["items"][0]["address"] == "testclient"


def test_user_management(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    admin = w.accounts["admin@I1"]
    r = client.post(
        "/api/v1/users",
        headers=admin.headers(),
        json={
            "email": "New.Person@Example.com",
            "username": "np",
            "password": "Good#123",
            "role": "om",
            "country": "DE",
        },
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["email"] == "new.person@example.com" and user["org_id"] == w.org_id("I1")
    r = client.post(
        "/api/v1/users",
        headers=admin.headers(),
        json={"email": "new.person@example.com", "username": "np", "password": "Good#123"},
    )
    assert r.status_code == 409
    r = client.post(
        "/api/v1/users",
        headers=admin.headers(),
        json={"email": "weak@example.com", "username": "w", "password": "password"},
    )
    assert r.status_code == 422 and "upper-case" in r.json()["detail"]
    r = client.patch(f"/api/v1/users/{user['id']}", headers=admin.headers(), json={"role": "admin"})
    assert r.json()["role"] == "admin"
    r = client.patch(f"/api/v1/users/{admin.id}", headers=admin.headers(), json={"role": "om"})
    assert r.status_code == 403 and "own role" in r.json()["detail"]
    # An O&M engineer may not reset an administrator's password (a higher role); an
    # administrator resets it: a temporary one is mailed and works.
    om = w.accounts["om@I1"]
    r = client.post(f"/api/v1/users/{user['id']}/reset-password", headers=om.headers())
    assert r.status_code == 403 and "higher role" in r.json()["detail"]
    r = client.post(f"/api/v1/users/{user['id']}/reset-password", headers=admin.headers())
    assert r.status_code == 200 and "mailed" in r.json()["detail"]
    with runtime.db.session() as s:
        from voltfleet.store.models import OutboxMail

        body = s.scalars(select(OutboxMail.body).where(OutboxMail.to == user["email"])).one()
    temp = body.split("temporary password is: ")[1].split()[0]
    assert login(client, user["email"], temp)
    # Only administrators delete, and not users who still own sites.
    assert client.delete(f"/api/v1/users/{user['id']}", headers=om.headers()).status_code == 403
    owner = w.accounts["owner@I1"]
    with runtime.db.session() as s:
        s.add(Site(org_id=w.org_id("I1"), owner_id=owner.id, name="Home"))
    r = client.delete(f"/api/v1/users/{owner.id}", headers=admin.headers())
    assert r.status_code == 409 and "owns sites" in r.json()["detail"]
    assert client.delete(f"/api/v1/users/{user['id']}", headers=admin.headers()).status_code == 204
    # Filters and search.
    r = client.get(
        "/api/v1/users",
        headers=w.accounts["admin@D1"].headers(),
        params={"role": "owner", "q": "i1"},
    )
    assert [u["email"] for u in r.json()["items"]] == ["owner.i1@example.com"]


def test_superuser_accounts_are_protected(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    # A platform administrator (not superuser) cannot touch the superuser.
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
    r = client.post(
        f"/api/v1/users/{w.accounts['super'].id}/reset-password",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403 and "superuser" in r.json()["detail"]


def test_errors_are_json_for_unknown_routes(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["detail"] == "no such endpoint"
    r = client.put("/api/v1/auth/token")
    assert r.status_code == 405 and "method" in r.json()["detail"]


def test_openapi_documents_auth(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/orgs" in spec["paths"]
    assert "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]


def test_portal_errors_are_pages_for_browsers(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    from voltfleet.app.portal.session import COOKIE

    client.cookies.set(COOKIE, w.accounts["admin@I2"].token)
    from voltfleet.store.models import Site

    with runtime.db.session() as s:
        site = Site(org_id=w.org_id("I1"), name="Not yours")
        s.add(site)
        s.flush()
        site_id = site.id
    r = client.get(f"/site/{site_id}", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html") and "site not found" in r.text
    r = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "There is no page at this address." in r.text
    # The API answers JSON whatever the Accept header says.
    r = client.get(
        f"/api/v1/sites/{site_id}",
        headers={"Accept": "text/html", **w.accounts["admin@I2"].headers()},
    )
    assert r.status_code == 404 and r.json()["detail"] == "site not found"
