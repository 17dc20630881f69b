"""What one authenticated charger can send that a central system must survive, over a real
WebSocket to voltfleet served by uvicorn on 127.0.0.1 (SQLite and PostgreSQL): malformed frames
answered per OCPP-J, unsolicited results dropped, oversized frames and floods refused with a
close frame, clipped logs, numbers out of range refused, and a rotated token ending the
connection. Frames are written raw (a websockets client); calls a real charger makes go through
the ``ocpp`` library's ChargePoint."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ocpp.exceptions import PropertyConstraintViolationError
from ocpp.v16 import call
from ocpp.v16.datatypes import MeterValue, SampledValue
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from tests.app.test_ocpp import SERIAL, base_url, charge_point, h, make_charger, world, ws_url
from tests.support.world import World
from voltfleet.app.charging.connections import connections
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession

__all__ = ["base_url", "world"]  # fixtures


@asynccontextmanager
async def raw_socket(base: str, cp_id: str, password: str) -> AsyncIterator[ClientConnection]:
    ws = await connect(
        ws_url(base, cp_id),
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers={"Authorization": build_authorization_basic(cp_id, password)},
        open_timeout=10,
        max_size=None,
    )
    try:
        yield ws
    finally:
        await ws.close()


async def answer(ws: ClientConnection, frame: str, timeout_s: float = 10.0) -> list[Any]:
    await ws.send(frame)
    return list(json.loads(await asyncio.wait_for(ws.recv(), timeout_s)))


async def heartbeat(ws: ClientConnection, unique_id: str = "hb") -> list[Any]:
    return await answer(ws, json.dumps([2, unique_id, "Heartbeat", {}]))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


MALFORMED = [
    # frame, the CALLERROR's unique id, its error code
    ("this is not JSON", "-1", "FormationViolation"),
    ('[2,"cut1","Heartbeat",{', "cut1", "FormationViolation"),  # broken, but the id is readable
    ("{}", "-1", "FormationViolation"),
    ("[]", "-1", "FormationViolation"),
    ('"[2]"', "-1", "FormationViolation"),
    ("[2]", "-1", "ProtocolError"),
    ('["2","s1","Heartbeat",{}]', "-1", "FormationViolation"),
    ('[2,17,"Heartbeat",{}]', "-1", "FormationViolation"),
    ('[2,"' + "i" * 37 + '","Heartbeat",{}]', "-1", "FormationViolation"),
    ('[7,"t7",{}]', "t7", "GenericError"),
    ('[2,"m9",{"a":1},{}]', "m9", "FormationViolation"),
    ('[2,"m10","Heartbeat",[]]', "m10", "FormationViolation"),
    ('[2,"m11","Heartbeat"]', "m11", "ProtocolError"),
    ('[2,"m12","Heartbeat",{},{}]', "m12", "FormationViolation"),
    ('[2,"u1","NoSuchAction",{}]', "u1", "NotSupported"),
    ('[2,"u2","RemoteStartTransaction",{"idTag":"x"}]', "u2", "NotImplemented"),
    ('[2,"w1","BootNotification",{"chargePointVendor":1}]', "w1", "TypeConstraintViolation"),
    ('[2,"w2","BootNotification",{}]', "w2", "ProtocolError"),
    ('[2,"d1","Heartbeat",{"a":' + nested(5000) + "}]", "d1", "FormationViolation"),
    (nested(20000), "-1", "FormationViolation"),
    ('[2,"d2","Heartbeat",{"a":' + nested(40) + "}]", "d2", "FormationViolation"),
]


def test_every_malformed_frame_is_answered_and_the_connection_survives(
    client: TestClient, world: World, base_url: str
) -> None:
    ids = make_charger(client, world)

    async def run() -> list[tuple[str, list[Any]]]:
        out = []
        async with raw_socket(base_url, SERIAL, ids["token"]) as ws:
            for frame, _, _ in MALFORMED:
                out.append((frame[:40], await answer(ws, frame)))
            out.append(("heartbeat", await heartbeat(ws)))
        return out

    out = asyncio.run(run())
    for (frame, want_id, want_code), (_, got) in zip(MALFORMED, out, strict=False):
        assert got[0] == 4 and got[1] == want_id and got[2] == want_code, (frame[:60], got)
        assert isinstance(got[3], str) and isinstance(got[4], dict)
    assert out[-1][1][:2] == [3, "hb"] and "currentTime" in out[-1][1][2]


def test_unsolicited_results_are_dropped_not_queued(
    client: TestClient, world: World, app: FastAPI, base_url: str
) -> None:
    """150 results of 60 KB that answer nothing: none is kept (the library would queue each for
    ever), none is answered, and the connection goes on."""
    ids = make_charger(client, world)
    payload = {f"k{i}": i for i in range(5000)}  # 60 KB, many objects once parsed

    async def run() -> tuple[int, list[Any]]:
        async with raw_socket(base_url, SERIAL, ids["token"]) as ws:
            await heartbeat(ws, "first")
            for i in range(150):
                await ws.send(json.dumps([3, f"r{i}", payload], separators=(",", ":")))
            for i in range(20):
                await ws.send(json.dumps([4, f"e{i}", "GenericError", "x", {}]))
            after = await heartbeat(ws, "after")  # no answer to a result came before it
            cp = connections(app).get(ids["charger"])
            assert cp is not None
            return cp._response_queue.qsize(), after

    queued, after = asyncio.run(run())
    assert queued == 0
    assert after[:2] == [3, "after"]


def test_an_oversized_frame_is_refused_with_a_close_frame(
    client: TestClient, world: World, base_url: str
) -> None:
    ids = make_charger(client, world)
    limit = 64 * 1024  # Settings.ocpp_max_frame_bytes

    async def run() -> tuple[int | None, str]:
        async with raw_socket(base_url, SERIAL, ids["token"]) as ws:
            await heartbeat(ws)
            await ws.send(json.dumps([2, "big", "DataTransfer", {"vendorId": "x" * (limit + 1)}]))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            assert ws.protocol.close_rcvd is not None
            return ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason

    code, reason = asyncio.run(run())
    assert code == 1009 and str(limit) in reason


def test_frames_over_the_rate_limit_wait_and_a_flood_is_disconnected(
    client: TestClient, world: World, app: FastAPI, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over its rate a charger is slowed down, not refused (a refused transaction message may be
    given up by the charger); a flood of frames it has no business sending closes it."""
    from voltfleet.protocols.ocpp.connection import FrameLimits

    registry = connections(app)
    limits = FrameLimits(frames_per_s=4.0, burst=10, bad_per_s=0.01, bad_burst=10)
    monkeypatch.setattr(registry, "limits", limits)
    ids = make_charger(client, world, serial="EVC-RATE-1")

    async def run() -> tuple[list[list[Any]], float, int | None, str]:
        async with raw_socket(base_url, "EVC-RATE-1", ids["token"]) as ws:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            answers = [await heartbeat(ws, f"h{i}") for i in range(14)]
            took = loop.time() - t0
            for i in range(40):  # a flood: results that answer nothing
                await ws.send(json.dumps([3, f"flood{i}", {}]))
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert ws.protocol.close_rcvd is not None
            return answers, took, ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason

    answers, took, code, reason = asyncio.run(run())
    assert [a[:2] for a in answers] == [[3, f"h{i}"] for i in range(14)]  # every one answered
    assert took >= 0.8  # the four beyond the burst waited for their tokens (0.25 s each)
    assert code == 1008 and "flooding" in reason


def test_frames_are_logged_clipped_and_at_debug(
    client: TestClient, world: World, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = make_charger(client, world)
    caplog.set_level(logging.DEBUG, logger="voltfleet")
    caplog.set_level(logging.DEBUG, logger="ocpp")
    big = json.dumps([2, "big1", "Heartbeat", {"junk": "y" * 60_000}])

    async def run() -> list[Any]:
        async with raw_socket(base_url, SERIAL, ids["token"]) as ws:
            got = await answer(ws, big)
            await ws.send(json.dumps([3, "nobody-asked", {"z": "z" * 60_000}]))
            await heartbeat(ws)
            return got

    got = asyncio.run(run())
    assert got[:3] == [4, "big1", "FormationViolation"]  # OCPP 1.6 spelling
    assert len(json.dumps(got)) < 2000  # the answer does not echo the frame back
    frames = [r for r in caplog.records if "yyyy" in r.getMessage() or "zzzz" in r.getMessage()]
    assert frames, "the frames are logged (at DEBUG)"
    assert max(len(r.getMessage()) for r in caplog.records) < 2000
    assert all(r.levelno <= logging.INFO for r in frames)
    assert not [r for r in frames if r.levelno == logging.INFO and "receive" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info and "yyyy" in str(r.exc_info[1])]


def test_numbers_out_of_range_are_refused(
    client: TestClient, world: World, runtime: Runtime, base_url: str
) -> None:
    ids = make_charger(client, world)
    now = datetime.now(UTC).isoformat()
    sample = [MeterValue(timestamp=now, sampled_value=[SampledValue(value="1")])]  # type: ignore[call-arg]

    async def run() -> list[type[Exception] | None]:
        out: list[type[Exception] | None] = []
        async with charge_point(base_url, SERIAL, ids["token"]) as (cp, _):
            calls = [
                call.StatusNotification(
                    connector_id=2**31, error_code="NoError", status="Available"
                ),
                call.StatusNotification(connector_id=99, error_code="NoError", status="Available"),
                call.StartTransaction(connector_id=2**31, id_tag="T", meter_start=0, timestamp=now),
                call.StartTransaction(connector_id=0, id_tag="T", meter_start=0, timestamp=now),
                call.StartTransaction(
                    connector_id=1, id_tag="T", meter_start=2**63 - 1, timestamp=now
                ),
                call.StartTransaction(connector_id=1, id_tag="T", meter_start=-5, timestamp=now),
                call.MeterValues(connector_id=2**31, meter_value=sample),
                call.MeterValues(connector_id=1, transaction_id=2**40, meter_value=sample),
                call.StopTransaction(meter_stop=10**15, timestamp=now, transaction_id=1),
                call.StopTransaction(meter_stop=10, timestamp=now, transaction_id=2**63),
            ]
            for c in calls:
                try:
                    await cp.call(c, suppress=False)
                    out.append(None)
                except PropertyConstraintViolationError as exc:
                    out.append(type(exc))
            # in range: accepted
            await cp.call(
                call.StartTransaction(connector_id=1, id_tag="T", meter_start=1234, timestamp=now),
                suppress=False,
            )
        return out

    out = asyncio.run(run())
    assert out == [PropertyConstraintViolationError] * len(out), out
    with runtime.db.session() as s:
        rows = list(s.scalars(select(ChargingSession)))
        assert [(r.connector_id, r.meter_start_wh) for r in rows] == [(1, 1234)]
        assert s.scalar(select(func.count()).select_from(ChargingSession)) == 1


def test_a_rotated_token_ends_the_open_connection(
    client: TestClient, world: World, app: FastAPI, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make_charger(client, world)
    monkeypatch.setattr(connections(app), "check_every_s", 0.2, raising=False)

    async def run() -> tuple[int | None, str, float]:
        async with raw_socket(base_url, SERIAL, ids["token"]) as ws:
            await heartbeat(ws)
            r = await asyncio.to_thread(
                client.post, f"/api/v1/devices/{ids['charger']}/token", headers=h(world, "om@I1")
            )
            assert r.status_code == 201
            t = asyncio.get_running_loop().time()
            # no message needed: the connection is closed by the platform, with the reason
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            assert ws.protocol.close_rcvd is not None
            took = asyncio.get_running_loop().time() - t
            return ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason, took

    code, reason, took = asyncio.run(run())
    assert code == 1008 and "credential revoked" in reason and took < 5

    async def again(token: str) -> int:
        try:
            async with raw_socket(base_url, SERIAL, token) as ws:
                return 101 if (await heartbeat(ws))[0] == 3 else 0
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(again(ids["token"])) == 401
    new = client.post(f"/api/v1/devices/{ids['charger']}/token", headers=h(world, "om@I1"))
    assert asyncio.run(again(new.json()["token"])) == 101


def test_a_message_after_the_rotation_is_refused_and_closes(
    client: TestClient, world: World, app: FastAPI, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the watcher's rounds, the next message finds the credential revoked."""
    ids = make_charger(client, world)
    monkeypatch.setattr(connections(app), "check_every_s", 3600, raising=False)

    async def run() -> tuple[list[Any], int | None]:
        async with raw_socket(base_url, SERIAL, ids["token"]) as ws:
            await heartbeat(ws)
            r = await asyncio.to_thread(
                client.post, f"/api/v1/devices/{ids['charger']}/token", headers=h(world, "om@I1")
            )
            assert r.status_code == 201
            got = await heartbeat(ws, "late")
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return got, ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None

    got, code = asyncio.run(run())
    assert got[:3] == [4, "late", "SecurityError"] and code == 1008
