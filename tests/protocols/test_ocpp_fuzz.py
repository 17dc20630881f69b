"""A protocol fuzz of the OCPP 1.6J endpoint: ``voltfleet serve`` in a process of its own (SQLite),
one authenticated charger over a real WebSocket sending a few hundred seeded random frames:
malformed JSON, wrong types, unknown actions, wrong payloads, huge, nested and oversized frames,
unsolicited results, among valid calls. Every frame is answered as OCPP-J says (a CALLRESULT or
a CALLERROR with the frame's unique id, "-1" when it has none; never InternalError), a result is
not answered, an oversized frame closes the connection with 1009; the connection survives
everything else. Then 150 unsolicited results of 60 KB: the server's resident memory (VmRSS of
the uvicorn process) grows less than 30 MB and its log stays small.

The frame-rate limits are raised for this server (the fuzz sends as fast as it is answered, and
most of its frames are bad ones); the limits themselves are tested in
tests/app/test_ocpp_frames.py."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from tests.support.server_process import ServerProcess, seed_installer
from voltfleet.simulator.client import VoltfleetClient

SEED = 20261206
FRAMES = 400
MAX_FRAME = 64 * 1024
RSS_BOUND_KB = 30 * 1024

Expect = tuple[str, Any]  # ("answer", unique id) | ("silent", None) | ("close", 1009)


class FuzzServer(ServerProcess):
    def _env(self) -> dict[str, str]:
        env = super()._env()
        env.update(
            VOLTFLEET_OCPP_FRAME_BURST="100000",
            VOLTFLEET_OCPP_FRAMES_PER_S="10000",
            VOLTFLEET_OCPP_BAD_FRAME_BURST="100000",
        )
        return env


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


# ---- the frames ----------------------------------------------------------------------------------


def valid_call(rng: random.Random, uid: str) -> list[Any]:
    now = datetime.now(UTC) - timedelta(seconds=rng.randint(0, 3600))
    choice = rng.randrange(5)
    if choice == 0:
        return [2, uid, "Heartbeat", {}]
    if choice == 1:
        return [2, uid, "BootNotification", {"chargePointVendor": "Fuzz", "chargePointModel": "F1"}]
    if choice == 2:
        status = rng.choice(["Available", "Preparing", "Charging", "Faulted", "Unavailable"])
        error = "NoError" if status != "Faulted" else "GroundFailure"
        payload = {"connectorId": rng.randint(0, 2), "errorCode": error, "status": status}
        return [2, uid, "StatusNotification", payload]
    if choice == 3:
        return [2, uid, "Authorize", {"idTag": "FUZZ-" + str(rng.randint(0, 99))}]
    value = rng.choice(["12.5", "-1", "1e308", "NaN", "abc", "", "99999999999999999999"])
    sampled = {"value": value, "measurand": "Power.Active.Import", "unit": "W"}
    return [
        2,
        uid,
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": iso(now), "sampledValue": [sampled]}]},
    ]


WRONG_PAYLOADS: list[tuple[str, dict[str, Any]]] = [
    ("StatusNotification", {"connectorId": "one", "errorCode": "NoError", "status": "Available"}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}),
    ("StatusNotification", {"connectorId": 2**31, "errorCode": "NoError", "status": "Available"}),
    ("StatusNotification", {"connectorId": -1, "errorCode": "NoError", "status": "Available"}),
    ("BootNotification", {"chargePointVendor": 7, "chargePointModel": None}),
    ("BootNotification", {"chargePointVendor": "v" * 300, "chargePointModel": "m"}),
    ("StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": "0", "timestamp": "x"}),
    ("StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 2**63 - 1,
                          "timestamp": "2026-01-01T00:00:00Z"}),
    ("StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 1,
                          "timestamp": "2026-13-45T99:00:00Z"}),
    ("StopTransaction", {"transactionId": 2**62, "meterStop": 1,
                         "timestamp": "2026-01-01T00:00:00Z"}),
    ("StopTransaction", {"transactionId": 1, "meterStop": 10**15,
                         "timestamp": "2026-01-01T00:00:00Z"}),
    ("MeterValues", {"connectorId": 1, "meterValue": "lots"}),
    ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "yesterday",
                                                       "sampledValue": [{"value": "1"}]}]}),
    ("MeterValues", {"connectorId": 1, "transactionId": 2**40,
                     "meterValue": [{"timestamp": "2026-01-01T00:00:00Z",
                                     "sampledValue": [{"value": "1"}]}]}),
    ("Heartbeat", {"extra": True}),
    ("Authorize", {}),
    ("DataTransfer", {"vendorId": "v", "data": {"not": "a string"}}),
]  # fmt: skip


def fuzz_frame(rng: random.Random, n: int) -> tuple[str, Expect, str]:
    """(frame text, what must happen, category)."""
    uid = f"f{n}"
    kind = rng.randrange(12)
    if kind == 0:
        return json.dumps(valid_call(rng, uid)), ("answer", uid), "valid"
    if kind == 1:  # not JSON at all
        junk = "".join(rng.choice('[]{}",:2abc\\ \x00é') for _ in range(rng.randint(0, 40)))
        with_id = rng.random() < 0.3
        text = f'[2,"{uid}",' + junk if with_id else "#" + junk
        return text, ("answer", uid if with_id else "-1"), "not-json"
    if kind == 2:  # JSON, but not a frame
        value = rng.choice([{}, [], 2, "text", None, True, {"a": [2, uid]}, [[2, uid]], 3.5])
        return json.dumps(value), ("answer", "-1"), "not-a-frame"
    if kind == 3:  # a frame with elements of the wrong type or number
        frame = valid_call(rng, uid)
        mutation = rng.randrange(6)
        if mutation == 0:
            frame[2] = rng.choice([{"a": 1}, 5, None, [], ""])
            return json.dumps(frame), ("answer", uid), "bad-action"
        if mutation == 1:
            frame[3] = rng.choice([[], "x", 1, None])
            return json.dumps(frame), ("answer", uid), "bad-payload"
        if mutation == 2:
            return json.dumps(frame[: rng.randint(1, 3)]), ("answer", uid), "short"
        if mutation == 3:
            return json.dumps([*frame, {}]), ("answer", uid), "long"
        if mutation == 4:
            frame[1] = rng.choice([7, None, "", "x" * 37, ["id"]])
            return json.dumps(frame), ("answer", "-1"), "bad-id"
        frame[0] = rng.choice([0, 1, 5, 9, -2, 2**40])
        return json.dumps(frame), ("answer", uid), "bad-type"
    if kind == 4:  # unknown or not-implemented actions
        action = rng.choice(["Teleport", "x" * 30, "GetConfiguration", "Reset", "ÄÖÜ", "1"])
        return json.dumps([2, uid, action, {}]), ("answer", uid), "unknown-action"
    if kind == 5:  # wrong payloads for known actions
        action, payload = rng.choice(WRONG_PAYLOADS)
        return json.dumps([2, uid, action, payload]), ("answer", uid), "wrong-payload"
    if kind == 6:  # huge but within the limit
        filler = "h" * rng.randint(20_000, MAX_FRAME - 200)
        payload = rng.choice(
            [{"vendorId": "v", "data": filler}, {"junk": filler}, {"vendorId": filler}]
        )
        return json.dumps([2, uid, "DataTransfer", payload]), ("answer", uid), "huge"
    if kind == 7:  # nested
        depth = rng.choice([33, 100, 5000, 20000])
        inner = "[" * depth + "]" * depth
        if rng.random() < 0.5:
            return f'[2,"{uid}","Heartbeat",{{"a":{inner}}}]', ("answer", uid), "nested"
        return inner, ("answer", "-1"), "nested"
    if kind == 8:  # unsolicited results and errors: never answered
        if rng.random() < 0.5:
            return json.dumps([3, uid, {"status": "Accepted"}]), ("silent", None), "result"
        return json.dumps([4, uid, "GenericError", "?", {}]), ("silent", None), "result"
    if kind == 9:  # malformed results: not answered either
        frame = rng.choice([[3, uid], [3, uid, "x"], [4, uid, 1, 2, 3], [3, uid, {}, {}]])
        return json.dumps(frame), ("silent", None), "bad-result"
    if kind == 10 and rng.random() < 0.1:  # over the limit: closed with 1009
        text = json.dumps([2, uid, "Heartbeat", {"x": "o" * MAX_FRAME}])
        return text, ("close", 1009), "oversize"
    return json.dumps(valid_call(rng, uid)), ("answer", uid), "valid"


# ---- the run -------------------------------------------------------------------------------------


class Charger:
    def __init__(self, url: str, cp_id: str, token: str) -> None:
        self.url = url.replace("http://", "ws://") + f"/ocpp/1.6/{cp_id}"
        self.headers = {"Authorization": build_authorization_basic(cp_id, token)}
        self.ws: ClientConnection | None = None
        self.connections = 0

    async def socket(self) -> ClientConnection:
        if self.ws is None:
            self.ws = await connect(
                self.url,
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=self.headers,
                open_timeout=10,
                max_size=None,
            )
            self.connections += 1
        return self.ws

    async def next_frame(self, timeout_s: float = 10.0) -> list[Any]:
        ws = await self.socket()
        return list(json.loads(await asyncio.wait_for(ws.recv(), timeout_s)))


async def check_frame(charger: Charger, text: str, expect: Expect, probe: Callable[[], str]) -> str:
    """Send one frame and check what follows; returns the answer's code ("result" for a
    CALLRESULT, "silent", "closed")."""
    ws = await charger.socket()
    await ws.send(text)
    what, value = expect
    if what == "close":
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError("an oversized frame was answered")
        except ConnectionClosed:
            pass
        rcvd = ws.protocol.close_rcvd
        assert rcvd is not None and rcvd.code == value, rcvd
        charger.ws = None
        return "closed"
    if what == "silent":  # nothing comes back: the next frame is the probe's answer
        probe_id = probe()
        await ws.send(json.dumps([2, probe_id, "Heartbeat", {}]))
        got = await charger.next_frame()
        assert got[:2] == [3, probe_id], (text[:80], got[:4])
        return "silent"
    got = await charger.next_frame()
    assert got[0] in (3, 4) and got[1] == value, (text[:80], got[:4])
    if got[0] == 3:
        return "result"
    assert got[2] != "InternalError", (text[:80], got)
    assert len(got) == 5 and isinstance(got[3], str) and isinstance(got[4], dict), got
    assert len(json.dumps(got)) < 4096, "a CALLERROR does not echo the frame"
    return str(got[2])


async def fuzz(server: FuzzServer, email: str, password: str) -> dict[str, Any]:
    async with VoltfleetClient(server.url) as client:
        await client.sign_in(email, password)
        home = await client.create_home(
            0, "FZ", name="Fuzz home", latitude=52.5, longitude=13.4, timezone="Europe/Berlin",
            country="DE", capacity_kwp=5.0, inverter_w=5000.0, battery_wh=5000.0, charger=True,
        )  # fmt: skip
    assert home.charger_serial and home.charger_token
    charger = Charger(server.url, home.charger_serial, home.charger_token)
    rng = random.Random(SEED)
    probes = iter(range(10**6))
    categories: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    sent = 0
    for n in range(FRAMES):
        text, expect, category = fuzz_frame(rng, n)
        categories[category] += 1
        outcomes[await check_frame(charger, text, expect, lambda: f"p{next(probes)}")] += 1
        sent += 1
    probes_sent = next(probes)

    # 150 unsolicited results of 60 KB, each many objects once parsed: none may be kept.
    assert server.proc is not None
    pid = server.proc.pid
    ws = await charger.socket()
    await ws.send(json.dumps([2, "warm", "Heartbeat", {}]))
    assert (await charger.next_frame())[:2] == [3, "warm"]
    before_kb = rss_kb(pid)
    payload = json.dumps({f"k{i}": i for i in range(5000)}, separators=(",", ":"))
    for i in range(150):
        await ws.send(f'[3,"u{i}",{payload}]')
    await ws.send(json.dumps([2, "after", "Heartbeat", {}]))
    assert (await charger.next_frame(30))[:2] == [3, "after"]
    after_kb = rss_kb(pid)
    await ws.close()
    return {
        "frames": sent,
        "probes": probes_sent,
        "connections": charger.connections,
        "categories": dict(categories),
        "outcomes": dict(outcomes),
        "rss_before_kb": before_kb,
        "rss_after_kb": after_kb,
        "unsolicited_bytes": 150 * (len(payload) + 12),
    }


def test_ocpp_fuzz_every_frame_answered_or_refused_and_memory_bounded(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    email, password = seed_installer(database_url, tmp_path)
    server = FuzzServer(database_url, tmp_path)
    server.start()
    t0 = time.monotonic()
    try:
        report = asyncio.run(fuzz(server, email, password))
        took = time.monotonic() - t0
        assert server.proc is not None and server.proc.poll() is None, "the server survived"
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    print(f"\nOCPP fuzz: {report} in {took:.1f} s; server log {len(log)} chars")
    grown_kb = report["rss_after_kb"] - report["rss_before_kb"]
    assert grown_kb < RSS_BOUND_KB, report
    assert report["frames"] == FRAMES
    assert report["outcomes"].get("closed", 0) == report["connections"] - 1
    assert {"valid", "not-json", "nested", "huge", "result", "wrong-payload"} <= set(
        report["categories"]
    )
    levels = (["ERROR"], ["CRITICAL"])
    errors = [line for line in log.splitlines() if line.split(" ")[2:3] in levels]
    assert "Traceback" not in log and not errors, errors or log[-3000:]
    assert len(log) < 1_000_000, "frames are not logged in full"
    assert took < 90
