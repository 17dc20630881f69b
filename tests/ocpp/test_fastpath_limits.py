"""A charging limit sent to many chargers is written as JSON once (protocols.ocpp.commands
``send_built``), and every charger still gets the frame the ``ocpp`` library would write, with
its own unique id; frames are encoded by the plain JSON encoder unless a Decimal needs the
library's."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ocpp.charge_point as library
import pytest
from ocpp.messages import Call, CallResult

from tests.ocpp.test_fastpath import Link, Wire, sent_or_failed
from voltfleet.domain.charging_limits import ChargingLimit, LimitPeriod, Purpose
from voltfleet.protocols.ocpp import commands, fastpath
from voltfleet.protocols.ocpp.central16 import CentralSystem16
from voltfleet.protocols.ocpp.central201 import CentralSystem201
from voltfleet.protocols.ocpp.profiles import profile_16, profile_201


def test_one_limit_to_many_chargers_is_written_once_each_frame_the_librarys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written: list[object] = []
    real = fastpath.payload_json
    monkeypatch.setattr(commands, "_WRITTEN", {})
    monkeypatch.setattr(commands, "payload_json", lambda p: written.append(p) or real(p))
    limit = ChargingLimit(2, Purpose.TX_DEFAULT, (LimitPeriod(0, 8.5, 3),), stack_level=1)

    async def one(n: int, central: type[Any]) -> tuple[str, Any]:
        wire = Wire()
        cp = central(f"CP-{n}", wire, Link())
        cp._unique_id_generator = lambda: f"id-{n}"
        task = asyncio.create_task(cp.set_limit(1, limit))
        await sent_or_failed(wire, task)
        await cp.route_message(f'[3,"id-{n}",{{"status":"Accepted"}}]')
        return wire.sent[0], await task

    async def run() -> list[tuple[str, Any]]:
        return [
            *[await one(n, CentralSystem16) for n in range(5)],
            *[await one(n, CentralSystem201) for n in range(5, 8)],
        ]

    sent = asyncio.run(run())
    assert len(written) == 2  # once per version, not once per charger
    for n, (frame, reply) in enumerate(sent):
        if n < 5:
            payload = {"connector_id": 1, "cs_charging_profiles": profile_16(limit)}
        else:
            payload = {"evse_id": 1, "charging_profile": profile_201(limit)}
        expected = Call(
            f"id-{n}", "SetChargingProfile", library.snake_to_camel_case(payload)
        ).to_json()
        assert frame == expected
        assert reply.accepted


def test_a_frame_with_a_decimal_is_the_librarys() -> None:
    payload = {"value": Decimal("1.25"), "n": 3, "text": "ö"}
    assert fastpath.frame(3, "x-1", payload) == CallResult("x-1", payload).to_json()
    assert fastpath.frame(3, "x-1", {"n": 3}) == CallResult("x-1", {"n": 3}).to_json()
