"""The charger's page in the portal: O&M send an OCPP command and read the charger's answer (the
request is served on another event loop than the charger's connection: the link hands the call
over), the message log, and the site's id tags; an owner sees the card without the form."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from tests.app.test_site_pages import login
from tests.ocpp.stations import station
from tests.support.world import World

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


def _login(client: TestClient, world: World, who: str) -> str:
    """Sign in as ``who`` (e.g. "om@I1"); the form token of the session."""
    return str(login(client, world.accounts[who].email))


def test_om_sends_a_command_from_the_charger_page_and_sees_the_answer(
    base_url: str, charger: dict[str, str], client: TestClient, world: World
) -> None:
    csrf = _login(client, world, "om@I1")
    page = f"/device/{charger['charger']}"
    assert 'hx-get="/device/' + charger["charger"] + '/ocpp"' in client.get(page).text

    async def run() -> tuple[str, list[object]]:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            r = await asyncio.to_thread(
                client.post,
                f"{page}/ocpp",
                data={
                    "csrf": csrf,
                    "action": "set_charging_profile",
                    "params": '{"connector_id": 1, "purpose": "tx_default", "limit_a": 9}',
                },
            )
            return r.text, cp.received

    html, received = asyncio.run(run())
    assert 'id="ocpp-answer"' in html and "Accepted" in html, html[:2000]
    assert received and received[0][0] == "SetChargingProfile"
    assert "SetChargingProfile" in html  # the message log

    r = client.post(f"{page}/ocpp/id-tags", data={"csrf": csrf, "tag": "CARD-77", "active": "1"})
    assert "CARD-77" in r.text and 'id="id-tags"' in r.text

    bad = client.post(f"{page}/ocpp", data={"csrf": csrf, "action": "reset", "params": "[1]"})
    assert "JSON object" in bad.text
    offline = client.post(f"{page}/ocpp", data={"csrf": csrf, "action": "reset", "params": "{}"})
    assert "not connected" in offline.text


def test_a_viewer_sees_the_card_without_the_command_form(
    charger: dict[str, str], client: TestClient, world: World
) -> None:
    _login(client, world, "om@I1")
    r = client.get(f"/device/{charger['charger']}/ocpp")
    assert r.status_code == 200 and 'id="ocpp-form"' in r.text
    client.cookies.clear()
    _login(client, world, "owner@I1")
    r = client.get(f"/device/{charger['charger']}/ocpp")
    assert r.status_code in (200, 404)  # the owner of another site does not see it
    assert 'id="ocpp-form"' not in r.text
