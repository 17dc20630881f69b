"""The central system's fast path (protocols.ocpp.fastpath): a charging limit the platform built
goes out as the frame the ``ocpp`` library would write, without the library's deep copy and
schema checks; a charger's small call is validated on the event loop (no thread-pool hop), a
large one in the pool; the answers and error replies are the library's. The conformance suite
(tests/ocpp/) drives the same code against real clients."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import ocpp.charge_point as library
import pytest
from ocpp.messages import Call
from ocpp.v16 import call

from voltfleet.domain.charging_limits import ChargingLimit, LimitPeriod, Purpose
from voltfleet.protocols.ocpp import fastpath
from voltfleet.protocols.ocpp.central16 import CentralSystem16
from voltfleet.protocols.ocpp.central201 import CentralSystem201
from voltfleet.protocols.ocpp.commands import as_dict
from voltfleet.protocols.ocpp.profiles import profile_16


class Wire:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.new = asyncio.Event()

    async def send(self, message: str) -> None:
        self.sent.append(message)
        self.new.set()

    async def recv(self) -> str:
        await asyncio.Event().wait()
        return ""


async def sent_or_failed(wire: Wire, task: asyncio.Task[Any]) -> None:
    """Until the call is on the wire; the call's own error when it fails before that."""
    waiter = asyncio.ensure_future(wire.new.wait())
    await asyncio.wait({task, waiter}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()
    assert wire.sent, "nothing was sent"


class Link:
    beats = 0

    async def heartbeat(self) -> None:
        self.beats += 1


def _schema_keys() -> set[str]:
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                keys.add(name)
                walk(sub)
            for sub in node.values():
                walk(sub)
        elif isinstance(node, list):
            for sub in node:
                walk(sub)

    root = Path(library.__file__).parent
    for version in ("v16", "v201"):
        for path in (root / version / "schemas").glob("*.json"):
            walk(json.loads(path.read_text(encoding="utf-8-sig")))
    return keys


def test_key_conversion_is_the_librarys_for_every_schema_key() -> None:
    keys = _schema_keys()
    assert len(keys) > 200
    nested = {k: {k: [{k: 1}]} for k in keys}
    assert fastpath.snake_keys(nested) == library.camel_to_snake_case(nested)
    snake = library.camel_to_snake_case(nested)
    assert fastpath.camel_keys(snake) == library.snake_to_camel_case(snake)


def test_a_limit_goes_out_as_the_librarys_frame_without_its_copy_or_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the library's slow path was used")

    monkeypatch.setattr(library, "serialize_as_dict", forbidden)
    monkeypatch.setattr(library, "validate_payload", forbidden)
    limit = ChargingLimit(2, Purpose.TX_DEFAULT, (LimitPeriod(0, 7.5, 3),), stack_level=1)

    async def run() -> tuple[str, Any]:
        wire = Wire()
        cp = CentralSystem16("CP-1", wire, Link())
        cp._unique_id_generator = lambda: "id-1"
        task = asyncio.create_task(cp.set_limit(1, limit))
        await sent_or_failed(wire, task)
        await cp.route_message('[3,"id-1",{"status":"Accepted"}]')
        return wire.sent[0], await task

    sent, reply = asyncio.run(run())
    expected = Call(
        "id-1",
        "SetChargingProfile",
        library.snake_to_camel_case({"connector_id": 1, "cs_charging_profiles": profile_16(limit)}),
    ).to_json()
    assert sent == expected
    assert reply.accepted and reply.result == {"status": "Accepted"}


def test_a_small_call_is_validated_on_the_loop_a_large_one_in_the_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hops: list[object] = []

    async def run() -> list[str]:
        loop = asyncio.get_running_loop()
        pooled = loop.run_in_executor

        def counting(executor: Any, fn: Any, *args: Any) -> Any:
            hops.append(fn)
            return pooled(executor, fn, *args)

        monkeypatch.setattr(loop, "run_in_executor", counting)
        wire = Wire()
        cp = CentralSystem201("CS-1", wire, Link())
        await cp.route_message('[2,"h1","Heartbeat",{}]')
        assert hops == []  # validated in place: no thread hop for the request nor its answer
        await cp.route_message('[2,"h2","Heartbeat",{"x":1}]')  # wrong: the library's error
        monkeypatch.setattr(fastpath, "INLINE_VALIDATION_CHARS", 10)
        await cp.route_message('[2,"h3","Heartbeat",{}]')
        return wire.sent

    sent = asyncio.run(run())
    assert len(hops) == 1  # the "large" frame
    first = json.loads(sent[0])
    assert first[:2] == [3, "h1"] and set(first[2]) == {"currentTime"}
    assert json.loads(sent[1])[:3] == [4, "h2", "FormatViolation"]
    assert json.loads(sent[2])[:2] == [3, "h3"]


def test_an_answer_with_a_field_its_type_lacks_is_refused() -> None:
    async def run() -> Any:
        wire = Wire()
        cp = CentralSystem16("CP-1", wire, Link())
        cp._unique_id_generator = lambda: "id-2"
        task = asyncio.create_task(cp.call_built("Reset", {"type": "Soft"}))
        await sent_or_failed(wire, task)
        await cp.route_message('[3,"id-2",{"status":"Accepted","bogus":1}]')
        return await task

    with pytest.raises(TypeError):
        asyncio.run(run())


def test_plain_matches_serialize_as_dict() -> None:
    payload = call.SetChargingProfile(
        connector_id=1,
        cs_charging_profiles=profile_16(
            ChargingLimit(2, Purpose.TX_DEFAULT, (LimitPeriod(0, 6.0),))
        ),
    )
    assert fastpath.plain(payload) == library.serialize_as_dict(payload)
    assert as_dict(fastpath.plain(payload)) == as_dict(payload)
