"""Malformed input at the OCPP 2.0.1 endpoint: every bad frame gets the CALLERROR of OCPP-J 2.0.1
(RpcFrameworkError, FormatViolation, ProtocolError, MessageTypeNotSupported,
NotSupported / NotImplemented for an action, ProtocolError / TypeConstraintViolation for a
wrong payload) and the connection survives (1.6: tests/app/
test_ocpp_frames.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from tests.ocpp.stations import url

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)

CASES = [
    ("not json", "not json at all", "RpcFrameworkError"),
    ("not an array", '{"a": 1}', "RpcFrameworkError"),
    ("unknown message type", '[7, "u1", "Heartbeat", {}]', "MessageTypeNotSupported"),
    ("elements missing", '[2, "u2", "Heartbeat"]', "ProtocolError"),
    ("payload not an object", '[2, "u3", "Heartbeat", []]', "FormatViolation"),
    # The ocpp library's reading of OCPP-J, kept as for 1.6 (tests/app/test_ocpp_frames.py):
    # an action it has no schema for is NotSupported, one of the version without a handler
    # NotImplemented.
    ("unknown action", '[2, "u4", "MakeCoffee", {}]', "NotSupported"),
    ("action of 1.6", '[2, "u5", "StartTransaction", {}]', "NotSupported"),
    ("action of 2.0.1 not handled", '[2, "u8", "NotifyEvent", {}]', "NotImplemented"),
    (
        "payload missing a required field (incomplete)",
        '[2, "u6", "StatusNotification", {"timestamp": "2026-01-01T00:00:00Z"}]',
        "ProtocolError",
    ),
    (
        "payload field of the wrong type",
        '[2, "u7", "MeterValues", {"evseId": "one", "meterValue": []}]',
        "TypeConstraintViolation",
    ),
]


def test_malformed_201_frames_get_their_callerror_and_the_connection_survives(
    base_url: str, charger: dict[str, str]
) -> None:
    async def run() -> list[Any]:
        answers = []
        async with connect(
            url(base_url, charger["serial"]),
            subprotocols=[Subprotocol("ocpp2.0.1")],
            additional_headers={
                "Authorization": build_authorization_basic(charger["serial"], charger["token"])
            },
            open_timeout=10,
        ) as ws:
            for _, frame, _ in CASES:
                await ws.send(frame)
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            await ws.send('[2, "alive", "Heartbeat", {}]')
            answers.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        return answers

    answers = asyncio.run(run())
    got = {name: a[2] for (name, _, _), a in zip(CASES, answers, strict=False)}
    want = {name: code for name, _, code in CASES}
    assert got == want
    assert answers[-1][0] == 3 and answers[-1][1] == "alive"  # still served
