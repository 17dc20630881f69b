"""The portal's refusals of share, distribute and delete point a person to the way on the page,
never to an API path (issue 19); the API keeps naming the endpoint for integrators
(test_sites.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.test_site_pages import bind, create_site, error, login, world  # noqa: F401
from tests.support.world import World


def test_a_receiver_refused_sharing_on_or_deleting_is_told_the_portal_way(
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    csrf = login(client, "admin.d1@example.com")
    own = create_site(client, csrf, name="Shared home")
    r = client.post(f"/site/{own}/share", data={"csrf": csrf, "org_id": world.org_id("I1")})
    assert "Org I1" in r.text

    # The receiver's forms are hidden; a stale or hand-made post is refused in portal words.
    csrf = login(client, "admin.i1@example.com")
    posts = {
        "share": {"org_id": world.org_id("I1")},
        "distribute": {"user_id": world.accounts["owner@I1"].id},
        "delete": {},
    }
    for action, form in posts.items():
        r = client.post(f"/site/{own}/{action}", data={"csrf": csrf, **form})
        said = error(r.text)
        assert "shared with your organisation" in said, (action, said)
        assert "/api/" not in said and "“Remove from my list”" in said
    r = client.post(f"/site/{own}/share-outside", data={"csrf": csrf, "org": "Org I2"})
    assert "/api/" not in error(r.text)

    # ... in the reader's language.
    client.headers["Accept-Language"] = "de"
    said = error(client.post(f"/site/{own}/delete", data={"csrf": csrf}).text)
    assert "„Aus meiner Liste entfernen“" in said and "/api/" not in said


def test_deleting_a_site_with_devices_without_the_code_names_the_button(
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    csrf = login(client, "admin.i1@example.com")
    sid = create_site(client, csrf, name="Coded home", gateway_serial="RGW1", gateway_fw="3.1")
    bind(client, csrf, sid, kind="inverter", serial="RINV1", parent_serial="RGW1")
    r = client.post(
        f"/site/{sid}/distribute", data={"csrf": csrf, "user_id": world.accounts["owner@I1"].id}
    )
    assert not error(r.text), error(r.text)
    # A form loaded before the devices were bound has no code field: the post comes without one.
    r = client.post(f"/site/{sid}/delete", data={"csrf": csrf})
    said = error(r.text)
    assert said.startswith("Devices are bound to this site") and "/api/" not in said
    assert "“Mail the owner a code”" in said
    assert f'action="/site/{sid}/deletion-code"' in r.text  # ... and the page has that button
    client.headers["Accept-Language"] = "de"
    said = error(client.post(f"/site/{sid}/delete", data={"csrf": csrf}).text)
    assert said.startswith("An diese Anlage sind Geräte gebunden") and "/api/" not in said


def test_deleting_or_resetting_ones_own_account_in_the_user_list_points_to_the_profile(
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    csrf = login(client, "admin.i1@example.com")
    me = world.accounts["admin@I1"].id
    said = error(client.post(f"/account/users/{me}/delete", data={"csrf": csrf}).text)
    assert "/api/" not in said and "“Deregister my account” on your profile page" in said
    said = error(client.post(f"/account/users/{me}/reset-password", data={"csrf": csrf}).text)
    assert "/api/" not in said and "on your profile page" in said
    client.headers["Accept-Language"] = "de"
    said = error(client.post(f"/account/users/{me}/delete", data={"csrf": csrf}).text)
    assert "Profilseite" in said and "/api/" not in said
