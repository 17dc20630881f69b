"""From a group meter's reading to every affected connector's new limit handed to the
ChargerLink, for a location of 100 connectors (SQLite, jobs in-process as in the embedded
default):

    .venv/bin/python benchmarks/power_latency.py [--readings 60]
    .venv/bin/python benchmarks/power_latency.py --ocpp [--readings 60]

The house load steps between 50 A and 150 A per phase at each reading, so all 100 limits change
every time (7.5 A <-> 6.5 A). Measured from just before the ingest transaction commits to the
last of the 100 limits reaching the link (a recording stand-in: the OCPP adapter's own time to
the charger is not in this figure). Printed beside it, in the same run, the latency without the
event hook: a reading waits for the next periodic cycle (every 5 s), as a polling controller
would (OpenEMS decides once a second, evcc adjusts a charge point every 30 s); and the same
event-driven path in the order of the first version (the cycle's state written and committed
before the limits are sent, the chargers' rows written again after), so the effect of sending
first is seen in one run. The first version (ORM rows, write first) measured p99 545 ms on
2026-12-06 (BENCHMARKS.md).

With ``--ocpp`` the limits go all the way: the platform is served by uvicorn on loopback (in a
thread of this process), the 100 chargers are OCPP 1.6J clients of the ``ocpp`` library in
``--client-procs`` other processes (each with its own event loop), and the figure is from just
before the reading's commit to the 100th charger's frame arriving at its client (the instant
the client's loop reads it off the socket, before the library parses it); beside it the same to
the client's handler (after the library's parsing: that part is the client's cost). Also printed:
the server process's CPU time per reading (``time.process_time``: the recompute, 100 calls and
their 100 answers), which the busy shared machine does not distort the way it does wall time;
and, in the same run, the same readings with the ``ocpp`` library's own send and receive path
(``protocols.ocpp.fastpath`` switched off), as on main before it. The server runs without
WebSocket permessage-deflate, as ``voltfleet serve`` does (until 2026-12-06's third session this
benchmark's server had it on).

``VOLTFLEET_BENCH_BASELINE`` (with ``--ocpp``; a git revision, default ``main``; empty: not run):
first the same benchmark with that revision's code (its ``src`` from ``git archive`` put first on
PYTHONPATH, as benchmarks/ocpp_connections.py does), in a process of its own, then this code's,
so the two are compared in one run on the same busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from voltfleet.accounts import ensure_platform
from voltfleet.app.security import sha256
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.domain.telemetry.quarantine import IncomingReading
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import platform_jobs
from voltfleet.settings import Settings
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Site
from voltfleet.store.power_models import PowerConnector, PowerGroup, PowerLocation
from voltfleet.store.power_repository import SqlPowerRepository
from voltfleet.store.telemetry_models import DeviceCredential
from voltfleet.usecases import power_management as pm

N = 100
LAST_COMMIT = [0.0]


class CountingLink:
    def __init__(self) -> None:
        self.count = 0
        self.done = threading.Event()
        self.want = N

    def connected(self, serial: str) -> bool:
        return True

    async def set_current_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        self.count += 1
        if self.count >= self.want:
            self.done.set()
        return True

    async def set_fallback_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        return True

    async def remote(
        self, serial: str, action: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        raise NotImplementedError

    def expect(self, n: int) -> None:
        self.count, self.want = 0, n
        self.done.clear()


def token_of(i: int) -> str:
    return f"vfg_lat-{i:03d}-" + "x" * 24


def seed(runtime: Any) -> tuple[str, str]:
    with runtime.db.session() as s:
        org = ensure_platform(s)
        site = Site(org_id=org.id, name="Depot")
        s.add(site)
        s.flush()
        gw = Device(site_id=site.id, kind="gateway", serial="LAT-GW")
        s.add(gw)
        s.flush()
        meter = Device(site_id=site.id, kind="meter", serial="LAT-MTR", parent_id=gw.id)
        s.add(meter)
        loc = PowerLocation(site_id=site.id, grid_type="3x400", raise_hold_s=0.0)
        s.add(loc)
        s.flush()
        root = PowerGroup(location_id=loc.id, name="Main", fuse_a=800.0, meter_device_id=meter.id)
        s.add(root)
        s.flush()
        groups = [
            PowerGroup(location_id=loc.id, parent_id=root.id, name=f"G{i}", fuse_a=200.0)
            for i in range(4)
        ]
        s.add_all(groups)
        s.flush()
        for i in range(N):
            charger = Device(site_id=site.id, kind="charger", serial=f"LAT-EVC-{i:03d}")
            s.add(charger)
            s.flush()
            token = token_of(i)
            s.add(
                DeviceCredential(device_id=charger.id, prefix=token[:12], token_hash=sha256(token))
            )
            plug = Connector(charger_id=charger.id, connector_no=1, max_current_a=32.0)
            plug.status = "charging"
            s.add(plug)
            s.flush()
            s.add(
                PowerConnector(location_id=loc.id, group_id=groups[i % 4].id, connector_id=plug.id)
            )
        return gw.id, loc.id


def reading_at(runtime: Any, gw_id: str, at: datetime, amps: float) -> float:
    """Ingest one meter reading; the instant just before its commit."""
    with runtime.db.session() as s:
        gw = s.get(Device, gw_id)
        readings = [
            IncomingReading("LAT-MTR", f"grid_current_l{n}_a", at, amps, "A") for n in (1, 2, 3)
        ]
        runtime.ingest(s, gw, readings)
        t0 = time.perf_counter()
        LAST_COMMIT[0] = time.monotonic()  # the same instant on the clock other processes read
    return t0


def write_first(power: Any) -> Any:
    """The cycle in the first version's order: decide and commit the state, send, record."""

    def recompute(location_id: str, now: datetime | None = None) -> Any:
        with power._lock_of(location_id):
            now = now or power.clock.now()
            with power.db.session() as s:
                d = pm.plan(SqlPowerRepository(s), location_id, now)
            if d is None:
                return None
            outcome = power._run(pm.send(power.link, d))
            with power.db.session() as s:
                pm.record(SqlPowerRepository(s), outcome, now)
            return outcome

    return recompute


def percentiles(lat: list[float]) -> str:
    lat = sorted(lat)
    p50 = statistics.median(lat)
    p90 = lat[int(len(lat) * 0.9)]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return (
        f"p50 {p50:.0f} ms, p90 {p90:.0f} ms, p99 {p99:.0f} ms, max {lat[-1]:.0f} ms "
        f"({len(lat)} readings)"
    )


class Arrivals:
    """In the clients' process: each new live limit (stack level 1) as it arrives, with the
    instant, goes back to the benchmark."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def arrived(self, at: float, limit_a: float) -> None:
        self.out.put((at, time.monotonic(), limit_a))


async def station(base: str, i: int, arrivals: Arrivals) -> Any:
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call, call_result
    from websockets.asyncio.client import connect
    from websockets.headers import build_authorization_basic
    from websockets.typing import Subprotocol

    class Station(ChargePoint):  # type: ignore[misc]
        read_at = 0.0

        async def route_message(self, raw_msg: str) -> Any:
            self.read_at = time.monotonic()  # off the socket, before the library parses it
            return await super().route_message(raw_msg)

        # no schema check here: 100 chargers' checks in one process would measure this
        # process, where each real charger has its own CPU
        @on("SetChargingProfile", skip_schema_validation=True)  # type: ignore[untyped-decorator]
        def on_set(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
            if cs_charging_profiles.get("stack_level") == 1:  # a live limit, not the fallback
                schedule = cs_charging_profiles["charging_schedule"]
                limit = float(schedule["charging_schedule_period"][0]["limit"])
                arrivals.arrived(self.read_at, limit)
            return call_result.SetChargingProfile(status="Accepted")

    cp_id = f"LAT-EVC-{i:03d}"
    ws = await connect(
        base.replace("http://", "ws://") + f"/ocpp/{cp_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers={"Authorization": build_authorization_basic(cp_id, token_of(i))},
        open_timeout=60,
    )
    cp = Station(cp_id, ws, response_timeout=60)
    cp.logger = logging.getLogger("bench.quiet")
    task = asyncio.create_task(cp.start())
    await cp.call(call.BootNotification(charge_point_vendor="bench", charge_point_model="x"))
    await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
    return ws, task


def clients(base: str, out: Any, stop: Any, which: range) -> None:
    """A chargers' process: connect its chargers, say so (None), note the arrivals until told."""
    logging.getLogger("bench.quiet").setLevel(logging.WARNING)
    logging.getLogger("ocpp").setLevel(logging.WARNING)

    async def run() -> None:
        arrivals = Arrivals(out)
        conns = []
        for first in range(which.start, which.stop, 20):
            conns += await asyncio.gather(
                *(station(base, i, arrivals) for i in range(first, min(which.stop, first + 20)))
            )
        out.put(None)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        for ws, task in conns:
            task.cancel()
            await ws.close()

    asyncio.run(run())


def library_path(on: bool) -> None:
    """Switch ``protocols.ocpp.fastpath`` off (on=True) or back on, in this process: sends
    and handled calls take the ``ocpp`` library's own path, as before the fast path."""
    from ocpp.v16 import ChargePoint

    import voltfleet.protocols.ocpp.commands as commands
    from voltfleet.protocols.ocpp import fastpath

    if on:
        commands.CallsFast = type("Off", (), {})  # type: ignore[misc,assignment]
        fastpath.CallsFast._handle_call = (  # type: ignore[method-assign]
            lambda self, msg: ChargePoint._handle_call(self, msg)
        )
    else:
        commands.CallsFast = fastpath.CallsFast  # type: ignore[misc]
        fastpath.CallsFast._handle_call = FAST_HANDLE  # type: ignore[method-assign]


def _fast_handle() -> Any:
    from voltfleet.protocols.ocpp import fastpath

    return fastpath.CallsFast._handle_call


FAST_HANDLE = _fast_handle()


def readings_over_ocpp(
    runtime: Any, gw_id: str, out: Any, readings: int, first: int
) -> tuple[list[float], list[float], float]:
    """Latency to the clients' sockets and to their handlers (ms), and server CPU per reading."""
    at = datetime.now(UTC)
    lat, handled = [], []
    previous = None
    cpu0 = time.process_time()
    for i in range(first, first + readings):
        at = max(at + timedelta(milliseconds=100), datetime.now(UTC))  # a fresh reading
        amps = 150.0 if i % 2 == 0 else 50.0
        reading_at(runtime, gw_id, at, amps)
        t0 = LAST_COMMIT[0]
        seen: dict[float, int] = {}
        last_read = last_handled = t0
        while True:  # until every charger has the reading's new limit
            try:
                read, when, limit_a = out.get(timeout=10)
            except Exception:
                raise SystemExit(
                    f"reading {i}: not every limit within 10 s ({seen}, before {previous})"
                ) from None
            if when < t0 or limit_a == previous:
                continue  # a late one of the reading before
            seen[limit_a] = seen.get(limit_a, 0) + 1
            last_read, last_handled = max(last_read, read), max(last_handled, when)
            if seen[limit_a] == N:
                break
        previous = limit_a
        lat.append((last_read - t0) * 1000)
        handled.append((last_handled - t0) * 1000)
        time.sleep(0.2)  # the answers come back; the next reading starts from quiet
    cpu_ms = (time.process_time() - cpu0) / readings * 1000
    return lat, handled, cpu_ms


def over_ocpp(runtime: Any, app: Any, gw_id: str, loc_id: str, readings: int, procs: int) -> None:
    import multiprocessing as mp

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.live_server import live_server

    ctx = mp.get_context("spawn")
    out, stop = ctx.Queue(), ctx.Event()
    per = -(-N // procs)
    parts = [range(k, min(N, k + per)) for k in range(0, N, per)]
    # served as ``voltfleet serve`` serves (cli.py): no WebSocket permessage-deflate
    with live_server(app, ws_per_message_deflate=False) as base:
        workers = [
            ctx.Process(target=clients, args=(base, out, stop, part), daemon=True) for part in parts
        ]
        for proc in workers:
            proc.start()
        try:
            ready = 0
            while ready < len(parts):  # limits sent as they connect
                if out.get(timeout=120) is None:
                    ready += 1
            print(
                f"{N} chargers connected ({len(parts)} client processes); the readings follow",
                file=sys.stderr,
                flush=True,
            )
            runtime.power.recompute(loc_id)  # every first limit sent
            time.sleep(2)
            while not out.empty():
                out.get()
            results: dict[str, tuple[list[float], list[float], list[float]]] = {}
            first = 0
            for name, library in (
                ("fast path", False),
                ("library path", True),
                ("fast path", False),
            ):
                library_path(library)
                lat, handled, cpu = readings_over_ocpp(runtime, gw_id, out, readings // 2, first)
                first += readings // 2
                results.setdefault(name, ([], [], []))
                results[name][0].extend(lat)
                results[name][1].extend(handled)
                results[name][2].append(cpu)
        finally:
            library_path(False)
            stop.set()
            for proc in workers:
                proc.join(10)
    for name, (lat, handled, cpus) in results.items():
        cpu = statistics.mean(cpus)
        print(
            f"{name}: meter reading -> {N} chargers (OCPP 1.6J clients, {len(parts)} processes) "
            f"read their new limit off the socket: {percentiles(lat)}; to their handlers: "
            f"{percentiles(handled)}; server process CPU {cpu:.0f} ms per reading"
        )


def baseline(revision: str) -> None:
    """This benchmark with ``revision``'s code, in a child process; its figures printed."""
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", revision, "src"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": f"{old}/src", "VOLTFLEET_BENCH_BASELINE": ""}
        print(f"baseline: {revision}'s code first, in a process of its own", file=sys.stderr)
        run = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:]], env=env, capture_output=True, text=True
        )
    if run.returncode != 0:
        print(f"baseline ({revision}) failed: {run.stderr[-2000:]}", file=sys.stderr)
    for line in run.stdout.splitlines():
        print(f"[{revision}'s code] {line}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=60)
    ap.add_argument("--polled", type=int, default=6)
    ap.add_argument("--ocpp", action="store_true", help="to real OCPP clients (see above)")
    ap.add_argument("--client-procs", type=int, default=4, help="with --ocpp")
    args = ap.parse_args()
    revision = os.environ.get("VOLTFLEET_BENCH_BASELINE", "main")
    if args.ocpp and revision:
        baseline(revision)
        print("[this code] (the same benchmark, now with this branch's code)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            mode="test",
            data_dir=Path(tmp),
            database_url=f"sqlite:///{tmp}/bench.db",
            secret_key="bench-" + "x" * 40,
        )
        runtime = build_runtime(settings)
        app = create_app(runtime=runtime)
        gw_id, loc_id = seed(runtime)
        if args.ocpp:
            jobs = InProcessJobs(platform_jobs(runtime.db, settings, runtime.power), runtime.clock)
            runtime.jobs = jobs
            jobs.start()
            try:
                over_ocpp(runtime, app, gw_id, loc_id, args.readings, args.client_procs)
            finally:
                jobs.stop()
                runtime.db.engine.dispose()
            return
        link = CountingLink()
        runtime.power.link = link
        jobs = InProcessJobs(platform_jobs(runtime.db, settings, runtime.power), runtime.clock)
        runtime.jobs = jobs
        jobs.start()
        try:
            runtime.power.recompute(loc_id)  # the first limits and fallbacks
            at = datetime.now(UTC)

            def series(n: int, first: int) -> list[float]:
                nonlocal at
                out = []
                for i in range(first, first + n):
                    link.expect(N)
                    at = max(at + timedelta(milliseconds=100), datetime.now(UTC))  # a fresh reading
                    t0 = reading_at(runtime, gw_id, at, 150.0 if i % 2 == 0 else 50.0)
                    if not link.done.wait(10):
                        raise SystemExit(f"reading {i}: only {link.count} limits within 10 s")
                    out.append((time.perf_counter() - t0) * 1000)
                return out

            lat = series(args.readings, 0)
            print(f"meter reading -> {N} new limits at the link, event-driven: {percentiles(lat)}")
            sends_first = runtime.power.recompute
            runtime.power.recompute = write_first(runtime.power)  # type: ignore[method-assign]
            old = series(args.readings, args.readings)
            runtime.power.recompute = sends_first  # type: ignore[method-assign]
            print(f"the same, the first version's order (write, send, write): {percentiles(old)}")
            print("the first version (ORM rows, write first), 2026-12-06: p99 545 ms")
            # without the event hook: only the periodic cycle picks the reading up
            runtime.power.defer = lambda location_id: None  # type: ignore[method-assign]
            polled = []
            for i in range(2 * args.readings, 2 * args.readings + args.polled):
                link.expect(N)
                at = max(at + timedelta(milliseconds=100), datetime.now(UTC))  # a fresh reading
                t0 = reading_at(runtime, gw_id, at, 150.0 if i % 2 == 0 else 50.0)
                if not link.done.wait(20):
                    raise SystemExit("the periodic cycle did not send within 20 s")
                polled.append((time.perf_counter() - t0) * 1000)
            print(
                f"the same without the event hook (periodic cycle every 5 s): "
                f"mean {statistics.mean(polled):.0f} ms, max {max(polled):.0f} ms "
                f"({len(polled)} readings)"
            )
        finally:
            jobs.stop()
            runtime.db.engine.dispose()


if __name__ == "__main__":  # (spawned client processes import this module without running it)
    main()
