"""Security profile 1 (HTTP Basic with the charger's password) at the one OCPP URL, for both
versions: an unknown charger, a wrong password, a user name that is not the charge point id, no
subprotocol the platform speaks: refused before the WebSocket opens. A second connection of the
same charger: the authenticated newcomer wins, the old socket is closed, logged and audited."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from tests.ocpp.stations import station, url
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import AuditEntry

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


async def refused(base: str, cp_id: str, user: str, password: str, protocol: str) -> int:
    try:
        ws = await connect(
            url(base, cp_id),
            subprotocols=[Subprotocol(protocol)],
            additional_headers={"Authorization": build_authorization_basic(user, password)},
            open_timeout=10,
        )
    except InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    return 101


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_wrong_password_unknown_id_and_wrong_user_are_refused_before_the_socket_opens(
    base_url: str, charger: dict[str, str], protocol: str
) -> None:
    serial, token = charger["serial"], charger["token"]
    assert asyncio.run(refused(base_url, serial, serial, token + "x", protocol)) == 401
    assert asyncio.run(refused(base_url, "EVC-NOBODY", "EVC-NOBODY", token, protocol)) == 401
    assert asyncio.run(refused(base_url, serial, "EVC-OTHER", token, protocol)) == 401
    assert asyncio.run(refused(base_url, serial, serial, token, "ocpp0.9")) == 400
    assert asyncio.run(refused(base_url, serial, serial, token, protocol)) == 101


def test_the_offered_subprotocol_picks_the_version(base_url: str, charger: dict[str, str]) -> None:
    async def picked(offered: list[str]) -> str | None:
        ws = await connect(
            url(base_url, charger["serial"]),
            subprotocols=[Subprotocol(p) for p in offered],
            additional_headers={
                "Authorization": build_authorization_basic(charger["serial"], charger["token"])
            },
            open_timeout=10,
        )
        await ws.close()
        return ws.subprotocol

    assert asyncio.run(picked(["ocpp2.0.1", "ocpp1.6"])) == "ocpp2.0.1"
    assert asyncio.run(picked(["ocpp1.6", "ocpp2.0.1"])) == "ocpp1.6"
    assert asyncio.run(picked(["ocpp2.1", "ocpp1.6"])) == "ocpp1.6"


def test_second_connection_wins_and_the_first_is_closed_logged_and_audited(
    base_url: str, charger: dict[str, str], runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> tuple[int | None, str]:
        async with (
            station(base_url, charger["serial"], charger["token"], "2.0.1") as first,
            station(base_url, charger["serial"], charger["token"], "1.6") as second,
        ):
            await asyncio.wait_for(first._connection.wait_closed(), 10)
            code = first._connection.close_code
            got = await second.call(call.Heartbeat(), suppress=False)
            return code, got.current_time

    with caplog.at_level("WARNING", logger="voltfleet.app.charging.connections"):
        code, current_time = asyncio.run(run())
    assert code == 1000 and current_time  # the old one closed; the newcomer served
    assert any("connected again" in r.getMessage() for r in caplog.records)
    with runtime.db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "ocpp.connection_replaced"))
        assert entry is not None and entry.object_id == charger["charger"]
        assert entry.org_id is not None
