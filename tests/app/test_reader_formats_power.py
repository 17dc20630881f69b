"""The power screen's fuses in the reader's marks (issue 19, "two languages: numbers and dates by
locale"): a 25.5 A main fuse is "25,5 A" for a German reader ("|round(1)" wrote "25.5" for all),
with one decimal as the live table writes its limits ("35,0 A")."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.test_power import h, make_site
from tests.app.test_power import world as world
from tests.app.test_sites import portal_login
from tests.support.world import World


def test_a_german_reader_sees_the_fuse_with_a_decimal_comma(
    client: TestClient, world: World
) -> None:
    ids = make_site(client, world)
    setup = {"grid_type": "3x400", "main_fuse_a": 25.5}
    r = client.put(f"/api/v1/sites/{ids['site']}/power", json=setup, headers=h(world, "admin@I1"))
    assert r.status_code == 200, r.text
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    portal_login(client, "om.i1@example.com")
    page = client.get(f"/sites/{ids['site']}/power").text
    assert "25,5 A" in page and "25.5 A" not in page
