"""A link cannot make our pages say what its author wants (issue 19, session 3): ``?notice=``
and ``?error=`` were shown as free text. A notice is now a code of ours shown in the reader's
language; an error (or a notice naming what was done) travels in a signed, session-bound cookie
shown once; every redirect after an action still lands with its message."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alarms import home
from tests.app.test_money_pages import csrf_of, sign_in
from tests.support.world import World, build_world
from voltfleet.app.portal.notices import FLASH_COOKIE, NOTICES
from voltfleet.app.runtime import Runtime

CRAFTED = "Your account is locked: call +1 555 0100 now"


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_free_text_in_the_query_is_never_shown(client: TestClient, world: World) -> None:
    ids, _token = home(client, world, "GWN1")
    sign_in(client, world, "om@I1")
    inv = ids["GWN1-INV"]
    for url in ("/site", f"/site/{ids['site']}", f"/device/{inv}", f"/device/{inv}/mode",
                f"/device/{ids['GWN1']}/gateway-settings", "/account/users", "/upgrade/releases",
                "/maintenance/alarms", f"/device/{inv}/settings"):  # fmt: skip
        for key in ("notice", "error"):
            r = client.get(url, params={key: CRAFTED})
            assert r.status_code == 200, (url, r.status_code)
            assert "locked" not in r.text, (url, key)


def test_a_notice_code_shows_our_message_in_the_readers_language(
    client: TestClient, world: World
) -> None:
    sign_in(client, world, "om@I1")
    english = client.get("/site", params={"notice": "site_removed"}).text
    assert 'id="notice">Site removed from your list<' in english
    german = client.get(
        "/site", params={"notice": "site_created"}, headers={"Accept-Language": "de"}
    ).text
    assert 'id="notice">Anlage angelegt<' in german
    assert 'id="notice"' not in client.get("/site", params={"notice": "nonsense"}).text
    assert set(NOTICES) >= {"site_created", "sent_to_inverter", "sent_to_gateway", "deleted"}


def test_an_error_after_a_redirect_is_shown_once_and_cannot_be_forged(
    client: TestClient, world: World
) -> None:
    ids, _token = home(client, world, "GWN2")
    inv = ids["GWN2-INV"]
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{inv}/mode").text)
    r = client.post(
        f"/device/{inv}/mode",
        data={"csrf": csrf, "mode": "tou", "grid_charge": "on", "grid_charge_kw": "lots"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/device/{inv}/mode", r.headers
    assert "lots" not in r.headers["location"]  # the error is not in the link
    page = client.get(f"/device/{inv}/mode")
    assert "grid charging power must be a number of kW, got &#39;lots&#39;" in page.text, page.text[
        -3000:
    ]
    assert FLASH_COOKIE not in client.cookies  # shown once: the page removed it
    assert "must be a number of kW" not in client.get(f"/device/{inv}/mode").text

    # A cookie made without the server's secret shows nothing.
    forged = base64.urlsafe_b64encode(f"error:{CRAFTED}".encode()).decode() + ".00ff"
    client.cookies.set(FLASH_COOKIE, forged)
    assert "locked" not in client.get(f"/device/{inv}/mode").text
    client.cookies.delete(FLASH_COOKIE)

    # A success still lands with its message (a code in the link, our text on the page).
    r = client.post(
        f"/device/{inv}/power", data={"csrf": csrf, "on": "false"}, follow_redirects=False
    )
    assert r.headers["location"] == f"/device/{inv}/mode?notice=sent_to_inverter"
    assert (
        "Sent to the inverter; its answer appears below." in client.get(r.headers["location"]).text
    )
