"""Accounts and roles as the inverter-cloud manual's role table says (issue 19): who may add and
edit companies and users, the deregister bug with deleted (retained) sites, sharing with an
organisation outside one's subtree by its exact name or access code, and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import PASSWORD, Account, World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import Org, Site, User


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
