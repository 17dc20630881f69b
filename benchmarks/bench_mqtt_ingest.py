"""MQTT ingest throughput: readings per second from a gateway through Mosquitto and the bridge
into the store (the telemetry pipeline, duplicates removed, roll-ups), beside the raw insert rate
of the same database measured in the same run.

The gateway publishes the batches of benchmarks/bench_ingest.py (10,000 readings per message:
5 devices x 4 points x 500 instants, 5 % repeats of the previous batch, shuffled) at QoS 1 to
``voltfleet/v1/BENCHGW/telemetry`` on a Mosquitto started here on a free loopback port with
voltfleet's config, password and ACL files; the bridge acknowledges each message after its commit.
The clock runs from the first publish to the commit of the last message. Bounded: about 15 s of
publishing per database, under 2 minutes in all.

    .venv/bin/python benchmarks/bench_mqtt_ingest.py     # SQLite, and PostgreSQL if installed
"""

from __future__ import annotations

import asyncio
import contextlib
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

from voltfleet.protocols.mqtt import broker, topics  # noqa: E402
from voltfleet.protocols.mqtt.bridge import Bridge, BridgeConfig  # noqa: E402
from voltfleet.store.db import Database  # noqa: E402
from voltfleet.store.migrate import upgrade  # noqa: E402

BUDGET_S = 15.0
BRIDGE_PASSWORD = secrets.token_urlsafe(16)


async def through_mqtt(
    db: Database, files: broker.BrokerFiles, token: str, data: list[Any]
) -> dict[str, Any]:
    bridge = Bridge(
        db,
        BridgeConfig(port=files.listen_port, password=BRIDGE_PASSWORD, client_id="bench-bridge"),
    )
    task = asyncio.create_task(bridge.run())
    await asyncio.wait_for(bridge.connected.wait(), 10)
    sent = readings = 0
    async with aiomqtt.Client(
        "127.0.0.1", files.listen_port, username="BENCHGW", password=token, timeout=30
    ) as gw:
        t0 = time.perf_counter()
        for body, rows in data:
            await gw.publish(topics.telemetry("BENCHGW"), body, qos=1)
            sent += 1
            readings += len(rows)
            if time.perf_counter() - t0 > BUDGET_S:
                break
            await asyncio.sleep(0)
        deadline = time.perf_counter() + 60
        while bridge.stats.messages < sent and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return {
        "readings": readings,
        "messages": sent,
        "done": bridge.stats.messages,
        "seconds": elapsed,
        "transactions": bridge.stats.batches,
    }


def run(name: str, url: str, tmp: Path) -> list[str]:
    upgrade(url)
    db = Database(url)
    _, serials = bench_ingest.seed(db)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    data = bench_ingest.batches(serials, start)
    files = broker.BrokerFiles(
        tmp / f"broker-{name.split()[0]}",
        bridge_password=BRIDGE_PASSWORD,
        listen_port=free_port(),
        run_as_user="root" if os.geteuid() == 0 else None,
    )
    token = "vfg_" + secrets.token_urlsafe(32)
    broker.write(files)
    broker.record_credential(files, "BENCHGW", "bench-credential", token)
    server = Mosquitto(files)
    server.start()
    try:
        m = asyncio.run(through_mqtt(db, files, token, data))
    finally:
        server.stop()
    r = bench_ingest.raw(db, data, m["messages"])
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM readings")).scalar_one()
    unique = len({(d, pt, ts) for _, rows in data[: m["messages"]] for d, pt, ts, _ in rows})
    db.engine.dispose()
    rate_m = m["readings"] / m["seconds"]
    rate_r = r["readings"] / r["seconds"]
    ok = "yes" if stored == unique and m["done"] == m["messages"] else "NO"
    return [
        f"\n{name}: {m['messages']} messages of {len(data[0][1]):,} readings at QoS 1 "
        f"(committed in {m['transactions']} transactions)",
        f"  mqtt -> bridge -> store: {m['readings']:>9,} readings in {m['seconds']:6.2f} s = "
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
