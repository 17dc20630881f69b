"""OCPP 2.0.1 E02/E03 "start transaction options", cable plugin first: the station starts its
transaction when the cable goes in (no idToken) and sends the card later in a TransactionEvent
Updated (triggerReason Authorized). The central checks that card with the site's id-tag list as
at a start and answers idTokenInfo; an accepted card goes on the session with its default
departure; a refused one is answered Invalid and the session stays without a card. Driven by an
independent charging station built on the ``ocpp`` package over a real socket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_power import connector_of
from tests.ocpp.stations import station
from tests.ocpp.test_ocpp201 import meter, tx_event
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.ev_modes_models import SessionDeparture

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)
BERLIN = ZoneInfo("Europe/Berlin")  # the zone of the conformance charger's site


def _tag(client: TestClient, om: dict[str, str], site: str, tag: str) -> str:
    r = client.put(f"/api/v1/sites/{site}/id-tags", json={"tag": tag}, headers=om)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _plug_in_then_card(
    base_url: str, charger: dict[str, str], ref: str, card: str, started_with: str | None = None
) -> list[Any]:
    """Started on the cable (with ``started_with`` as its card, or none), then the card in an
    Updated; the two answers."""
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    async def run() -> list[Any]:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            token = {"id_token": started_with, "type": "ISO14443"} if started_with else None
            started = await cp.call(
                tx_event(
                    "Started", 0, at, ref,
                    trigger="CablePluggedIn",
                    info={"charging_state": "EVConnected"},
                    id_token=token,
                    meter_value=[meter(at, 1000)],
                ),
                suppress=False,
            )  # fmt: skip
            updated = await cp.call(
                tx_event(
                    "Updated", 1, at + timedelta(seconds=30), ref,
                    trigger="Authorized",
                    info={"charging_state": "Charging"},
                    id_token={"id_token": card, "type": "ISO14443"},
                ),
                suppress=False,
            )  # fmt: skip
            return [started, updated]

    return asyncio.run(run())


def _session(runtime: Runtime, ref: str) -> tuple[ChargingSession, SessionDeparture | None]:
    with runtime.db.session() as s:
        row = s.scalar(select(ChargingSession).where(ChargingSession.transaction_ref == ref))
        assert row is not None
        s.expunge(row)
        dep = s.get(SessionDeparture, row.id)
        if dep is not None:
            s.expunge(dep)
        return row, dep


def test_e03_cable_plugin_first_card_in_updated_is_accepted_and_goes_on_the_session(
    base_url: str,
    charger: dict[str, str],
    client: TestClient,
    world: World,
    om: dict[str, str],
    runtime: Runtime,
) -> None:
    site = charger["site"]
    card = _tag(client, om, site, "CARD-LATER-7")
    _tag(client, om, site, "CARD-OTHER")
    leaves = (datetime.now(UTC) + timedelta(hours=3)).astimezone(BERLIN)
    r = client.put(
        f"/api/v1/sites/{site}/id-tags/{card}/departure-default",
        json={"departure_time": leaves.strftime("%H:%M"), "energy_need_kwh": 20},
        headers=om,
    )
    assert r.status_code == 200, r.text

    started, updated = _plug_in_then_card(base_url, charger, "tx-e03-1", "CARD-LATER-7")

    assert started.id_token_info is None  # no card yet: nothing to answer about
    assert updated.id_token_info == {"status": "Accepted"}
    row, dep = _session(runtime, "tx-e03-1")
    assert row.id_tag == "CARD-LATER-7" and row.stopped_at is None
    assert dep is not None and dep.source == "tag_default" and dep.energy_need_wh == 20_000
    got = dep.departure_at.astimezone(BERLIN)
    assert (got.hour, got.minute) == (leaves.hour, leaves.minute)


def test_e03_unknown_card_in_updated_is_invalid_and_the_session_keeps_no_card(
    base_url: str,
    charger: dict[str, str],
    client: TestClient,
    world: World,
    om: dict[str, str],
    runtime: Runtime,
) -> None:
    _tag(client, om, charger["site"], "CARD-KNOWN")  # the site keeps a list: others are refused

    started, updated = _plug_in_then_card(base_url, charger, "tx-e03-2", "CARD-UNKNOWN")

    assert started.id_token_info is None
    assert updated.id_token_info == {"status": "Invalid"}
    row, dep = _session(runtime, "tx-e03-2")
    assert row.id_tag == "" and dep is None and row.stopped_at is None


def test_e03_a_later_card_does_not_replace_the_card_the_session_started_with(
    base_url: str,
    charger: dict[str, str],
    client: TestClient,
    world: World,
    om: dict[str, str],
    runtime: Runtime,
) -> None:
    site = charger["site"]
    _tag(client, om, site, "CARD-FIRST")
    _tag(client, om, site, "CARD-SECOND")

    started, updated = _plug_in_then_card(
        base_url, charger, "tx-e03-3", "CARD-SECOND", started_with="CARD-FIRST"
    )

    assert started.id_token_info == {"status": "Accepted"}
    assert updated.id_token_info == {"status": "Accepted"}
    row, _dep = _session(runtime, "tx-e03-3")
    assert row.id_tag == "CARD-FIRST"


def test_e03_a_later_cards_default_replaces_the_connectors_default(
    base_url: str,
    charger: dict[str, str],
    client: TestClient,
    world: World,
    om: dict[str, str],
    runtime: Runtime,
) -> None:
    """At a start the card's default comes before the connector's; a card shown after the
    start keeps that order: it replaces the connector's default the session began with."""
    site = charger["site"]
    card = _tag(client, om, site, "CARD-LATE-DEF")
    soon = (datetime.now(UTC) + timedelta(hours=2)).astimezone(BERLIN)
    later = (datetime.now(UTC) + timedelta(hours=5)).astimezone(BERLIN)
    conn = connector_of(runtime, charger["charger"])
    r = client.put(
        f"/api/v1/sites/{site}/connectors/{conn}/departure-default",
        json={"departure_time": soon.strftime("%H:%M"), "energy_need_kwh": 5},
        headers=om,
    )
    assert r.status_code == 200, r.text
    r = client.put(
        f"/api/v1/sites/{site}/id-tags/{card}/departure-default",
        json={"departure_time": later.strftime("%H:%M"), "energy_need_kwh": 30},
        headers=om,
    )
    assert r.status_code == 200, r.text

    _started, updated = _plug_in_then_card(base_url, charger, "tx-e03-4", "CARD-LATE-DEF")

    assert updated.id_token_info == {"status": "Accepted"}
    _row, dep = _session(runtime, "tx-e03-4")
    assert dep is not None and dep.source == "tag_default" and dep.energy_need_wh == 30_000
    got = dep.departure_at.astimezone(BERLIN)
    assert (got.hour, got.minute) == (later.hour, later.minute)
