"""Many simulated chargers connected to one voltfleet process over OCPP 1.6J, with heartbeats and
meter values: how many stay connected, the server's CPU and memory per charger, and the answer
time of their messages. In the same run, the peer: the same chargers against a bare central
system of the ``ocpp`` library (websockets server, handlers that store nothing), in a process of
its own, measured the same way.

  .venv/bin/python benchmarks/bench_ocpp_connections.py          # 5,000 chargers, 60 s steady
  VOLTFLEET_BENCH_CHARGERS=1000 VOLTFLEET_BENCH_STEADY_S=30 .venv/bin/python benchmarks/...

Set-up: the chargers (devices and tokens) are written straight into a fresh SQLite database
(WAL) before ``voltfleet serve`` starts; clients are raw OCPP-J frames over ``websockets``
spread over several client processes (the client side must not be the bottleneck). Each charger
boots, reports its connector, then sends MeterValues every ``METER_S`` and a Heartbeat every
``HEARTBEAT_S`` (jittered). The server's memory is its resident set (/proc VmRSS) before the
chargers connect and in the steady window; its CPU is utime+stime over the steady window.
Bounded in time: connecting has ``CONNECT_BUDGET_S``; whatever connected by then is measured.

Also in the same run (``VOLTFLEET_BENCH_BASELINE``, a git revision, default ``main``; empty: not
run): the same ``voltfleet serve`` with that revision's code (its ``src`` from ``git archive``
put first on PYTHONPATH) on the same database, so this branch's server costs are compared with
the code before it under the same load on the same busy machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server_process import ServerProcess, settings_for

CHARGERS = int(os.environ.get("VOLTFLEET_BENCH_CHARGERS", "5000"))
STEADY_S = float(os.environ.get("VOLTFLEET_BENCH_STEADY_S", "60"))
CLIENT_PROCS = int(os.environ.get("VOLTFLEET_BENCH_CLIENTS", "4"))
CONNECT_BUDGET_S = float(os.environ.get("VOLTFLEET_BENCH_CONNECT_S", "180"))
BASELINE = os.environ.get("VOLTFLEET_BENCH_BASELINE", "main")
RUN_PEER = os.environ.get("VOLTFLEET_BENCH_PEER", "1") == "1"
METER_S = 60.0
HEARTBEAT_S = 120.0
TOKEN = "vfg_bench-ocpp-{n:06d}-" + "x" * 20


def serial(n: int) -> str:
    return f"BENCHEVC{n:06d}"


# ---- set-up -------------------------------------------------------------------------------------


def seed(database_url: str, data_dir: Path, n: int) -> None:
    """n chargers (one site per 100) with their tokens, written in bulk."""
    from voltfleet.accounts import ensure_platform
    from voltfleet.app.security import sha256
    from voltfleet.bootstrap import build_runtime
    from voltfleet.store.fleet_models import Device
    from voltfleet.store.migrate import upgrade
    from voltfleet.store.models import Site
    from voltfleet.store.telemetry_models import DeviceCredential

    runtime = build_runtime(settings_for(database_url, data_dir))
    try:
        upgrade(runtime.db.url)
        with runtime.db.session() as s:
            org = ensure_platform(s)
            sites = []
            for k in range(0, n, 100):
                site = Site(org_id=org.id, name=f"bench {k}", timezone="Europe/Berlin")
                s.add(site)
                sites.append(site)
            s.flush()
            devices = [
                Device(site_id=sites[i // 100].id, kind="charger", subtype="ac", serial=serial(i))
                for i in range(n)
            ]
            s.add_all(devices)
            s.flush()
            s.add_all(
                DeviceCredential(
                    device_id=d.id, prefix="vfg_bench", token_hash=sha256(TOKEN.format(n=i))
                )
                for i, d in enumerate(devices)
            )
            s.commit()
    finally:
        runtime.db.engine.dispose()


# ---- the peer: the ocpp library's central system alone -------------------------------------------

PEER = r"""
import asyncio, sys
from datetime import UTC, datetime
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from websockets.asyncio.server import serve

def now():
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")

class Central(ChargePoint):
    @on("BootNotification")
    def boot(self, **_):
        return call_result.BootNotification(current_time=now(), interval=120, status="Accepted")
    @on("Heartbeat")
    def hb(self):
        return call_result.Heartbeat(current_time=now())
    @on("StatusNotification")
    def st(self, **_):
        return call_result.StatusNotification()
    @on("MeterValues")
    def mv(self, **_):
        return call_result.MeterValues()

async def handler(ws):
    try:
        await Central(ws.request.path.rsplit("/", 1)[-1], ws).start()
    except Exception:
        pass  # the charger went

async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), subprotocols=["ocpp1.6"],
                     ping_interval=None):
        print("ready", flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


# ---- clients ------------------------------------------------------------------------------------


def _iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def _charger(
    url: str,
    n: int,
    stats: dict[str, Any],
    stop_at: list[float],
    go: asyncio.Event,
    sem: asyncio.Semaphore,
) -> None:
    from websockets.asyncio.client import connect
    from websockets.headers import build_authorization_basic

    cp = serial(n)
    await sem.acquire()  # a bounded number of chargers connecting at once
    try:
        ws = await connect(
            f"{url}/{cp}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": build_authorization_basic(cp, TOKEN.format(n=n))},
            open_timeout=60,
            ping_interval=None,
        )
    except Exception:
        stats["refused"] += 1
        sem.release()
        return
    seq = 0

    async def call(action: str, payload: dict[str, Any]) -> float:
        nonlocal seq
        seq += 1
        t = time.perf_counter()
        await ws.send(json.dumps([2, str(seq), action, payload]))
        answer = json.loads(await ws.recv())
        if answer[0] != 3:
            stats["errors"] += 1
        return time.perf_counter() - t

    try:
        try:
            await call("BootNotification", {"chargePointVendor": "bench", "chargePointModel": "b"})
            await call(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
            )
            stats["connected"] += 1
        finally:
            sem.release()
        await go.wait()
        register = 1000 * n
        next_meter = time.monotonic() + random.uniform(0, METER_S)
        next_beat = time.monotonic() + random.uniform(0, HEARTBEAT_S)
        while time.monotonic() < stop_at[0]:
            wait = min(next_meter, next_beat) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(max(0.0, min(wait, stop_at[0] - time.monotonic())))
                continue
            if next_meter <= next_beat:
                register += 183
                took = await call(
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "meterValue": [
                            {
                                "timestamp": _iso(),
                                "sampledValue": [
                                    {
                                        "value": str(register),
                                        "measurand": "Energy.Active.Import.Register",
                                        "unit": "Wh",
                                    },
                                    {
                                        "value": "11000",
                                        "measurand": "Power.Active.Import",
                                        "unit": "W",
                                    },
                                ],
                            }
                        ],
                    },
                )
                next_meter += METER_S
            else:
                took = await call("Heartbeat", {})
                next_beat += HEARTBEAT_S
            stats["latencies"].append(took)
    except Exception:
        stats["dropped"] += 1
    finally:
        await ws.close()


def _client_proc(url: str, numbers: list[int], ready: Any, go_at: Any, out: Any) -> None:
    async def main() -> dict[str, Any]:
        stats: dict[str, Any] = {
            "connected": 0,
            "refused": 0,
            "dropped": 0,
            "errors": 0,
            "latencies": [],
        }
        go = asyncio.Event()
        stop_at = [math.inf]  # set when the steady window starts
        sem = asyncio.Semaphore(20)
        tasks = [asyncio.create_task(_charger(url, n, stats, stop_at, go, sem)) for n in numbers]
        while stats["connected"] + stats["refused"] < len(numbers) and time.time() < go_at.value:
            await asyncio.sleep(0.2)
        ready.put(stats["connected"])
        while time.time() < go_at.value:
            await asyncio.sleep(0.05)
        stop_at[0] = time.monotonic() + (go_at.value + STEADY_S - time.time())
        go.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return stats

    stats = asyncio.run(main())
    out.put({k: v for k, v in stats.items()})


# ---- measuring ----------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(name: str, ws_url: str, pid: int, n: int) -> dict[str, Any]:
    idle_rss = rss_mib(pid)
    per = [list(range(i, n, CLIENT_PROCS)) for i in range(CLIENT_PROCS)]
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    go_at = ctx.Value("d", time.time() + CONNECT_BUDGET_S)
    t0 = time.time()
    procs = [
        ctx.Process(target=_client_proc, args=(ws_url, numbers, ready, go_at, out))
        for numbers in per
    ]
    for p in procs:
        p.start()
    connected = sum(ready.get(timeout=CONNECT_BUDGET_S + 60) for _ in procs)
    connect_s = time.time() - t0
    # all in: the steady window starts now (the clients see it)
    go_at.value = min(go_at.value, time.time())
    time.sleep(max(0.0, go_at.value - time.time()))
    cpu0, w0 = cpu_s(pid), time.monotonic()
    samples = []
    while time.monotonic() - w0 < STEADY_S:
        samples.append(rss_mib(pid))
        time.sleep(1)
    cpu = (cpu_s(pid) - cpu0) / (time.monotonic() - w0)
    results = [out.get(timeout=STEADY_S + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    lat = sorted(x for r in results for x in r["latencies"])
    steady_rss = statistics.median(samples) if samples else rss_mib(pid)
    return {
        "name": name,
        "connected": connected,
        "connect_s": connect_s,
        "refused": sum(r["refused"] for r in results),
        "dropped": sum(r["dropped"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "messages": len(lat),
        "rate": len(lat) / STEADY_S,
        "p50_ms": 1000 * lat[len(lat) // 2] if lat else float("nan"),
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else float("nan"),
        "idle_rss": idle_rss,
        "rss": steady_rss,
        "kib_per_charger": 1024 * (steady_rss - idle_rss) / max(connected, 1),
        "cpu": cpu,
        "cpu_us_per_charger_s": 1e6 * cpu / max(connected, 1),
    }


def show(r: dict[str, Any]) -> None:
    print(
        f"{r['name']}: {r['connected']:,} chargers connected in {r['connect_s']:.0f} s "
        f"(refused {r['refused']}, dropped {r['dropped']}, CallErrors {r['errors']}); "
        f"steady {STEADY_S:.0f} s: {r['messages']:,} messages ({r['rate']:.0f}/s), answered in "
        f"p50 {r['p50_ms']:.1f} ms / p99 {r['p99_ms']:.1f} ms; memory {r['idle_rss']:.0f} -> "
        f"{r['rss']:.0f} MiB ({r['kib_per_charger']:.0f} KiB per charger); "
        f"CPU {100 * r['cpu']:.0f} % of a core "
        f"({r['cpu_us_per_charger_s']:.0f} us per charger per second)",
        flush=True,
    )


def main() -> None:
    print(
        f"{CHARGERS:,} chargers, MeterValues every {METER_S:.0f} s, "
        f"Heartbeat every {HEARTBEAT_S:.0f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        url = f"sqlite:///{data / 'bench.db'}"
        t = time.time()
        seed(url, data, CHARGERS)
        print(f"seeded in {time.time() - t:.0f} s", flush=True)
        runs: list[tuple[str, dict[str, str]]] = [("voltfleet serve (SQLite)", {})]
        if BASELINE:
            old_src = data / "baseline"
            old_src.mkdir()
            repo = Path(__file__).resolve().parents[1]
            archive = subprocess.run(
                ["git", "-C", str(repo), "archive", BASELINE, "src"],
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
            runs.append((f"the same, {BASELINE}'s code", {"PYTHONPATH": str(old_src / "src")}))
        for name, env in runs:
            server = ServerProcess(url, data, env=env)
            server.start()
            assert server.proc is not None
            try:
                result = drive(
                    name, server.url.replace("http", "ws") + "/ocpp", server.proc.pid, CHARGERS
                )
            finally:
                server.stop()
            show(result)
    if not RUN_PEER:
        return
    from tests.support.pg_server import free_port

    port = free_port()
    peer = subprocess.Popen([sys.executable, "-c", PEER, str(port)], stdout=subprocess.PIPE)
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == b"ready"
        theirs = drive(
            "peer: bare ocpp library central system",
            f"ws://127.0.0.1:{port}/ocpp",
            peer.pid,
            CHARGERS,
        )
    finally:
        peer.terminate()
        peer.wait(10)
    show(theirs)


if __name__ == "__main__":
    main()
