"""MQTT ingest throughput: readings per second from gateways through Mosquitto and the bridge
into the store (the telemetry pipeline, duplicates removed, roll-ups), beside the raw insert rate
of the same database measured in the same run.

Two gateways (two homes), each a process of its own as a real one is, publish the batches of
benchmarks/bench_ingest.py (10,000 readings per message: 5 devices x 4 points x 500 instants,
5 % repeats of the previous batch, shuffled) at QoS 1 to ``voltfleet/v1/BENCHGW<k>/telemetry`` on
a Mosquitto started here on a free loopback port with voltfleet's config, password and ACL files;
the bridge (in this process) acknowledges each message after its commit. The clock runs from the
gateways' connection to the commit of the last message. Bounded: about 15 s of publishing per
database, under 2 minutes in all.

    .venv/bin/python benchmarks/bench_mqtt_ingest.py     # SQLite, and PostgreSQL if installed
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_ingest  # noqa: E402
from _pg import SKIPPED, fsync_of, postgres_server, scratch_database  # noqa: E402
from tests.protocols.mosquitto import MOSQUITTO, Mosquitto, free_port  # noqa: E402

from voltfleet.app.mqtt_adapter import MqttBridgeService  # noqa: E402
from voltfleet.app.telemetry.wiring import IngestWiring  # noqa: E402
from voltfleet.clock import SystemClock  # noqa: E402
from voltfleet.domain.telemetry.validate import Limits  # noqa: E402
from voltfleet.protocols.mqtt import broker, topics  # noqa: E402
from voltfleet.protocols.mqtt.bridge import Bridge, BridgeConfig  # noqa: E402
from voltfleet.store.db import Database  # noqa: E402
from voltfleet.store.migrate import upgrade  # noqa: E402

BUDGET_S = 15.0
BRIDGE_PASSWORD = secrets.token_urlsafe(16)


GATEWAYS = 2


def gateway(
    port: int, serial: str, token: str, bodies: list[bytes], started: Any, sent: Any
) -> None:
    """One gateway, in a process of its own: publish its batches at QoS 1 (each publish returns
    once the broker has acknowledged it), within the budget."""

    async def publish() -> None:
        async with aiomqtt.Client(
            "127.0.0.1", port, username=serial, password=token, timeout=30
        ) as gw:
            started.release()
            t0 = time.perf_counter()
            for body in bodies:
                await gw.publish(topics.telemetry(serial), body, qos=1)
                with sent.get_lock():
                    sent.value += 1
                if time.perf_counter() - t0 > BUDGET_S:
                    break

    asyncio.run(publish())


async def through_mqtt(
    db: Database, files: broker.BrokerFiles, homes: list[tuple[str, str, list[Any]]]
) -> dict[str, Any]:
    """``homes``: (serial, token, batches) of each gateway."""
    service = MqttBridgeService(db, IngestWiring(Limits(), SystemClock()))
    bridge = Bridge(
        service,
        BridgeConfig(port=files.listen_port, password=BRIDGE_PASSWORD, client_id="bench-bridge"),
    )
    task = asyncio.create_task(bridge.run())
    await asyncio.wait_for(bridge.connected.wait(), 10)
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Semaphore(0)
    sent = [ctx.Value("i", 0) for _ in homes]  # messages published, per gateway
    children = []
    for (serial, token, data), count in zip(homes, sent, strict=True):
        bodies = [body for body, _ in data]
        args = (files.listen_port, serial, token, bodies, started, count)
        children.append(ctx.Process(target=gateway, args=args))
    for child in children:
        child.start()
    for _ in children:  # each imports and connects; the clock starts when all have
        while not started.acquire(timeout=0.005):
            if not all(c.is_alive() for c in children):
                raise RuntimeError("a gateway process ended before it connected")
            await asyncio.sleep(0)
    t0 = time.perf_counter()
    deadline = t0 + BUDGET_S + 60

    def busy() -> bool:
        published = sum(c.value for c in sent)
        return any(c.is_alive() for c in children) or bridge.stats.messages < published

    while busy() and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    for child in children:
        child.join(10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return {
        "sent": [int(c.value) for c in sent],
        "messages": sum(int(c.value) for c in sent),
        "done": bridge.stats.messages,
        "seconds": elapsed,
        "transactions": bridge.stats.batches,
    }


def run(name: str, url: str, tmp: Path) -> list[str]:
    upgrade(url)
    db = Database(url)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    files = broker.BrokerFiles(
        tmp / f"broker-{name.split()[0]}",
        bridge_password=BRIDGE_PASSWORD,
        listen_port=free_port(),
        run_as_user="root" if os.geteuid() == 0 else None,
    )
    broker.write(files)
    homes = []
    for k in range(GATEWAYS):
        _, serials = bench_ingest.seed(db, str(k))
        token = "vfg_" + secrets.token_urlsafe(32)
        broker.record_credential(files, f"BENCHGW{k}", f"bench-credential-{k}", token)
        homes.append((f"BENCHGW{k}", token, bench_ingest.batches(serials, start)))
    server = Mosquitto(files)
    server.start()
    try:
        m = asyncio.run(through_mqtt(db, files, homes))
    finally:
        server.stop()
    published = [b for (_, _, data), n in zip(homes, m["sent"], strict=True) for b in data[:n]]
    readings = sum(len(rows) for _, rows in published)
    unique = len({(d, pt, ts) for _, rows in published for d, pt, ts, _ in rows})
    r = bench_ingest.raw(db, published, len(published))
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM readings")).scalar_one()
    db.engine.dispose()
    rate_m = readings / m["seconds"]
    rate_r = r["readings"] / r["seconds"]
    ok = "yes" if stored == unique and m["done"] == m["messages"] else "NO"
    return [
        f"\n{name}: {m['messages']} messages of {len(homes[0][2][0][1]):,} readings at QoS 1 from "
        f"{GATEWAYS} gateways (committed in {m['transactions']} transactions)",
        f"  mqtt -> bridge -> store: {readings:>9,} readings in {m['seconds']:6.2f} s = "
        f"{rate_m:>10,.0f} readings/s",
        f"  raw insert             : {r['readings']:>9,} rows     in {r['seconds']:6.2f} s = "
        f"{rate_r:>10,.0f} rows/s (plain table, no key, no checks)",
        f"  ratio mqtt/raw: {rate_m / rate_r:.2f}; stored once: {stored:,} rows = {unique:,} "
        f"unique keys, all acknowledged after commit: {ok}",
    ]


def main() -> None:
    if not Path(MOSQUITTO).exists():
        print("mosquitto is not installed: apt-get install mosquitto")
        return
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        print("\n".join(run("SQLite", f"sqlite:///{tmp}/bench.db", tmp)), flush=True)
        with postgres_server() as server:
            if server is None:
                print(SKIPPED)
                return
            with scratch_database(server, "mqtt") as url:
                label = f"PostgreSQL (fsync={fsync_of(url)})"
                print("\n".join(run(label, url, tmp)), flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
