"""Sentences built in Python for a page (notices and refusals of the profile, the companies,
a site's sharing and deletion, upgrade tasks) reach a German reader in German (issue 19): they
were English f-strings whatever the reader's language."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.app.test_alarms import home
from tests.app.test_money_pages import sign_in
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_pages_answer_a_german_reader_in_german(client: TestClient, runtime: Runtime) -> None:
    world: World = build_world(runtime)
    ids, _token = home(client, world, "GWDE1")
    r = client.post(
        "/api/v1/orgs",
        json={"name": "Leere Firma", "type": "installer", "parent_id": world.org_id("I1")},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    empty_org = r.json()["id"]
    sign_in(client, world, "admin@I1")
    client.headers["Accept-Language"] = "de-DE,de;q=0.9"
    csrf = _csrf(client.get("/account/profile").text)

    bad = client.post("/account/profile", data={"csrf": csrf, "username": " ", "currency": "E"})
    assert "dreibuchstabigen Währungscode" in bad.text
    ok = client.post("/account/profile", data={"csrf": csrf, "username": "x", "currency": "EUR"})
    assert "Profil gespeichert." in ok.text and "Profile saved." not in ok.text
    gone = client.post(f"/account/companies/{empty_org}/delete", data={"csrf": csrf})
    assert "Firma gelöscht." in gone.text

    site = ids["site"]
    own = client.post(f"/site/{site}/share", data={"csrf": csrf, "org_id": world.org_id("I1")}).text
    assert "sieht diese Anlage bereits" in own and "already sees" not in own
    refused = client.post(f"/site/{site}/delete", data={"csrf": csrf}).text
    assert "An diese Anlage sind Geräte gebunden" in refused

    created = client.post("/site/new", data={"csrf": csrf, "name": "Neu"})
    assert 'id="notice">Anlage angelegt<' in created.text
    unnamed = client.post(
        f"/device/{ids['GWDE1-INV']}/rename", data={"csrf": csrf, "name": " "}
    ).text
    assert "Geben Sie einen Namen für das Gerät ein" in unnamed

    # the API keeps answering in English to a client that asks for no language
    del client.headers["Accept-Language"]
    r = client.post(
        f"/api/v1/sites/{site}/shares",
        json={"org_id": world.org_id("I1")},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 409 and "already sees" in r.json()["detail"], r.text
