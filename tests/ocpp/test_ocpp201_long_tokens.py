"""OCPP 2.0.1 idTokens are up to 36 characters (1.6's idTag: 20). A session started, or given its
card later, with a 36-character token keeps the whole token, on both databases: it used to keep
the first 20 (the column was 1.6's size), so the portal and the session CSV named a card that is
not on the site's list. Driven by an independent station (``ocpp`` package) over a real socket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.ocpp.stations import station
from tests.ocpp.test_ocpp201 import meter, tx_event
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession

# a central token (a UUID, 36 characters) and an eMAID-style contract id
UUID_TOKEN = "6f1c2a9e-0b7d-4c55-9a3e-2d8f41b7c0aa"
LONG_TOKEN = "DE-VLT-C0012345678-CONTRACT-LONG-ID1"


def _card(client: TestClient, world: World, site: str, tag: str) -> None:
    admin = world.accounts["admin@I1"].headers()
    r = client.put(f"/api/v1/sites/{site}/id-tags", json={"tag": tag}, headers=admin)
    assert r.status_code == 200, r.text


def _run(base_url: str, charger: dict[str, str], events: list[Any]) -> list[Any]:
    async def run() -> list[Any]:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            return [await cp.call(e, suppress=False) for e in events]

    return asyncio.run(run())


def _id_tag(runtime: Runtime, ref: str) -> str:
    with runtime.db.session() as s:
        row = s.scalar(select(ChargingSession).where(ChargingSession.transaction_ref == ref))
        assert row is not None
        return row.id_tag


def test_a_session_started_with_a_36_character_token_keeps_all_of_it(
    base_url: str, charger: dict[str, str], client: TestClient, world: World, runtime: Runtime
) -> None:
    assert len(UUID_TOKEN) == 36
    _card(client, world, charger["site"], UUID_TOKEN)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    started = tx_event(
        "Started", 0, at, "tx-long-1",
        info={"charging_state": "Charging"},
        id_token={"id_token": UUID_TOKEN, "type": "Central"},
        meter_value=[meter(at, 1000)],
    )  # fmt: skip

    (answer,) = _run(base_url, charger, [started])

    assert answer.id_token_info == {"status": "Accepted"}
    assert _id_tag(runtime, "tx-long-1") == UUID_TOKEN


def test_a_36_character_card_shown_after_the_start_goes_whole_on_the_session(
    base_url: str, charger: dict[str, str], client: TestClient, world: World, runtime: Runtime
) -> None:
    assert len(LONG_TOKEN) == 36
    _card(client, world, charger["site"], LONG_TOKEN)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    started = tx_event(
        "Started", 0, at, "tx-long-2",
        trigger="CablePluggedIn",
        info={"charging_state": "EVConnected"},
        meter_value=[meter(at, 1000)],
    )  # fmt: skip
    updated = tx_event(
        "Updated", 1, at + timedelta(seconds=30), "tx-long-2",
        trigger="Authorized",
        info={"charging_state": "Charging"},
        id_token={"id_token": LONG_TOKEN, "type": "eMAID"},
    )  # fmt: skip

    _, answer = _run(base_url, charger, [started, updated])

    assert answer.id_token_info == {"status": "Accepted"}
    assert _id_tag(runtime, "tx-long-2") == LONG_TOKEN
