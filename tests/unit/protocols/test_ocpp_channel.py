"""The OCPP channel without a network: frames through a fake socket into a fake charge point,
the token bucket on a hand-moved clock, the frame classifier table-driven."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import suppress
from typing import Any

import pytest

from voltfleet.protocols.ocpp.connection import (
    OCPP16,
    OCPP201,
    Channel,
    Disconnected,
    FrameLimits,
    Refusal,
    TokenBucket,
    classify,
)


class FakeSocket:
    def __init__(self, frames: list[str]) -> None:
        self.frames = list(frames)
        self.sent: list[Any] = []
        self.closed: tuple[int, str] | None = None

    async def recv(self) -> str:
        if not self.frames:
            raise Disconnected("done")
        return self.frames.pop(0)

    async def send(self, message: str) -> None:
        self.sent.append(json.loads(message))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class FakeChargePoint:
    id = "CP1"
    logger: Any = None

    def __init__(self, channel: Channel | None = None) -> None:
        self.routed: list[str] = []
        self.channel = channel

    async def route_message(self, raw_msg: str) -> None:
        self.routed.append(raw_msg)
        frame = json.loads(raw_msg)
        if frame[0] == 2 and frame[2] == "Boom":
            raise KeyError("a bug in a handler")
        if frame[0] == 2 and self.channel is not None:
            await self.channel.send(json.dumps([3, frame[1], {}]))


def serve(frames: list[str], limits: FrameLimits | None = None, **kw: Any) -> tuple[Channel, Any]:
    socket = FakeSocket(frames)
    channel = Channel(socket, limits, **kw)
    cp = FakeChargePoint(channel)

    async def run() -> None:
        with suppress(Disconnected):  # the frames ran out; or the channel closed itself
            await channel.serve(cp)

    asyncio.run(run())
    return channel, (socket, cp)


@pytest.mark.parametrize(
    ("frame", "refusal"),
    [
        ("nope", Refusal("-1", "framework", "not valid JSON")),
        ('[2,"a1","Heartbeat",', Refusal("a1", "framework", "not valid JSON")),
        ("{}", Refusal("-1", "framework", "an OCPP-J frame is a JSON array [type, id, ...]")),
        ("[true]", Refusal("-1", "framework", "the message type id is not a number")),
        ("[2]", Refusal("-1", "incomplete", "the frame has no unique id")),
        ('[5,"x"]', Refusal("x", "unknown_type", "message type 5 is not an OCPP-J type")),
        (
            '[2,"x","A"]',
            Refusal("x", "incomplete", "a message of type 2 has 4 elements, this one 3"),
        ),
        ('[3,"x"]', Refusal(None, "incomplete", "a message of type 3 has 3 elements, this one 2")),
        ('[3,"x",[]]', Refusal(None, "malformed", "the result payload is not an object")),
        ('[2,"x",1,{}]', Refusal("x", "malformed", "the action is not a string")),
    ],
)
def test_classify_refuses_what_is_not_an_ocpp_j_frame(frame: str, refusal: Refusal) -> None:
    assert classify(frame, 32) == refusal


def test_classify_accepts_frames_and_bounds_nesting_without_recursion() -> None:
    assert classify('[2,"x","Heartbeat",{}]', 32) == (2, "x", [2, "x", "Heartbeat", {}])
    assert classify('[4,"x","GenericError","",{}]', 32)[0:2] == (4, "x")  # type: ignore[index]
    deep = '[2,"x","A",{"a":' + "[" * 40 + "]" * 40 + "}]"
    assert classify(deep, 32) == Refusal("x", "framework", "nested deeper than 32 levels")
    assert isinstance(classify("[" * 100_000 + "]" * 100_000, 32), Refusal)


def test_a_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, 3, lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after_s() == pytest.approx(0.5)
    now[0] = 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] = 100.0
    assert sum(bucket.take() for _ in range(10)) == 3


def test_results_reach_the_library_only_when_awaited() -> None:
    async def run() -> tuple[FakeSocket, FakeChargePoint]:
        socket = FakeSocket([])
        channel = Channel(socket)
        cp = FakeChargePoint(channel)
        await channel.send('[2,"ours","Reset",{"type":"Soft"}]')  # a call of ours
        socket.frames = ['[3,"ours",{"status":"Accepted"}]', '[3,"ours",{}]', '[3,"theirs",{}]']
        with pytest.raises(Disconnected):
            await channel.serve(cp)
        return socket, cp

    _, cp = asyncio.run(run())
    assert cp.routed == ['[3,"ours",{"status":"Accepted"}]']  # once; then unsolicited


def test_an_exception_escaping_the_library_is_an_internal_error_not_a_dead_connection() -> None:
    _, (socket, _) = serve(['[2,"b1","Boom",{}]', '[2,"h1","Heartbeat",{}]'])
    assert socket.sent == [[4, "b1", "InternalError", "An unexpected error occurred.", {}],
                           [3, "h1", {}]]  # fmt: skip


def test_ocpp_201_spells_its_codes_and_the_library_s_are_renamed_for_16() -> None:
    _, (socket, _) = serve(["nope", '[2,"x",1,{}]'], dialect=OCPP201)
    assert [m[2] for m in socket.sent] == ["RpcFrameworkError", "FormatViolation"]

    async def run() -> FakeSocket:
        socket = FakeSocket([])
        channel = Channel(socket, dialect=OCPP16)
        long = {"cause": "c" * 5000, "ocpp_message": "[2,...]" * 1000}
        await channel.send(json.dumps([4, "x", "FormatViolation", "bad", long]))
        return socket

    [sent] = asyncio.run(run()).sent
    assert sent[2] == "FormationViolation" and "ocpp_message" not in sent[4]
    assert len(json.dumps(sent)) < 1000


def test_over_the_rate_frames_wait_for_their_token_and_a_flood_of_bad_ones_is_closed() -> None:
    limits = FrameLimits(frames_per_s=50.0, burst=2, bad_per_s=0.001, bad_burst=3)
    frames = [json.dumps([2, f"h{i}", "Heartbeat", {}]) for i in range(6)]
    frames += [json.dumps([3, f"r{i}", {}]) for i in range(5)] + ['[2,"never","Heartbeat",{}]']
    t0 = time.monotonic()
    channel, (socket, cp) = serve(frames, limits)
    assert [m[:2] for m in socket.sent] == [[3, f"h{i}"] for i in range(6)]  # none refused
    assert time.monotonic() - t0 >= 4 / 50 * 0.9  # four of them waited for their token
    assert channel.counts.rate_limited >= 4
    assert socket.closed is not None and socket.closed[0] == 1008
    assert "flooding" in socket.closed[1] and channel.counts.dropped == 4
    assert not any("never" in raw for raw in cp.routed)


def test_an_oversized_frame_closes_with_1009() -> None:
    frames = ['[2,"h","Heartbeat",{"x":"' + "é" * 40_000 + '"}]', '[2,"never","Heartbeat",{}]']
    _, (socket, cp) = serve(frames, FrameLimits(max_frame_bytes=64 * 1024))
    assert socket.closed == (1009, "frame over 65536 bytes") and cp.routed == []
