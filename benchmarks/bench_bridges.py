"""MQTT ingest through one ``voltfleet mqtt-bridge`` process against two sharing the uplink (MQTT 5
shared subscription ``$share/<group>/...``, issue 18): readings per second from gateways through
Mosquitto and the bridge processes into PostgreSQL, and the ratio two/one, in one run.

Four gateways, each a process of its own, publish the batches of benchmarks/bench_ingest.py
(10,000 readings per message, 5 % repeats of the previous batch, shuffled) at QoS 1 for at most
``BUDGET_S`` seconds to a Mosquitto started here with voltfleet's config, password and ACL files.
The bridges are the real command line (``python -m voltfleet.cli mqtt-bridge``, as the systemd
unit runs it), each with its own client id and the same shared group; each acknowledges a
message after its commit. The clock runs from the gateways' connection to the moment every
reading they published is in the database (counted there, so nothing is taken on the bridges'
word). Bounded: about 15 s of publishing and at most 90 s of draining per configuration.

On a 2-core machine the gateways, Mosquitto, PostgreSQL and the bridges share the cores, so two
bridges cannot double the rate here: the figure says what a second process adds on this
machine.

    .venv/bin/python benchmarks/bench_bridges.py
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_ingest  # noqa: E402
from _pg import SKIPPED, fsync_of, postgres_server, scratch_database  # noqa: E402
from bench_mqtt_ingest import gateway  # noqa: E402
from tests.e2e.test_production_set import CliProcess  # noqa: E402
from tests.protocols.mosquitto import MOSQUITTO, Mosquitto, free_port  # noqa: E402

from voltfleet.protocols.mqtt import broker  # noqa: E402
from voltfleet.store.db import Database  # noqa: E402
from voltfleet.store.migrate import upgrade  # noqa: E402

GATEWAYS = 4
BUDGET_S = 15.0  # of publishing (bench_mqtt_ingest.gateway)
DRAIN_S = 90.0
BRIDGE_PASSWORD = secrets.token_urlsafe(16)


def stored(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM readings")).scalar_one())


def run(url: str, tmp: Path, bridges: int) -> dict[str, float]:
    upgrade(url)
    db = Database(url)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    files = broker.BrokerFiles(
        tmp / "broker",
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOLTFLEET_")}
    env.update(
        VOLTFLEET_MODE="test",
        VOLTFLEET_DATA_DIR=str(tmp),
        VOLTFLEET_DATABASE_URL=url,
        VOLTFLEET_SECRET_KEY="bench-secret-" + "b" * 40,
        VOLTFLEET_MQTT_URL=f"mqtt://127.0.0.1:{files.listen_port}",
        VOLTFLEET_MQTT_PASSWORD=BRIDGE_PASSWORD,
        VOLTFLEET_MQTT_SHARED_GROUP="voltfleet",
    )
    procs = [
        CliProcess(["mqtt-bridge"], {**env, "VOLTFLEET_MQTT_CLIENT_ID": f"bench-bridge-{n}"},
                   tmp / f"bridge-{n}.log")
        for n in range(bridges)
    ]  # fmt: skip
    server = Mosquitto(files)
    server.start()
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + 120
        while not all("connected to" in p.tail() for p in procs):
            if time.monotonic() > deadline:
                raise RuntimeError("bridges not connected: " + " ".join(p.tail() for p in procs))
            time.sleep(0.2)
        ctx = multiprocessing.get_context("spawn")
        started = ctx.Semaphore(0)
        sent = [ctx.Value("i", 0) for _ in homes]
        children = [
            ctx.Process(
                target=gateway,
                args=(files.listen_port, serial, token, [b for b, _ in data], started, count),
            )
            for (serial, token, data), count in zip(homes, sent, strict=True)
        ]
        for child in children:
            child.start()
        for _ in children:  # each imports and connects; the clock starts when all have
            if not started.acquire(timeout=120):
                raise RuntimeError("a gateway did not connect")
        t0 = time.perf_counter()
        for child in children:
            child.join(BUDGET_S + 120)
        published = [
            b for (_, _, data), n in zip(homes, sent, strict=True) for b in data[: n.value]
        ]
        unique = len({(d, pt, ts) for _, rows in published for d, pt, ts, _ in rows})
        readings = sum(len(rows) for _, rows in published)
        t_published = time.perf_counter() - t0
        while (count := stored(db)) < unique and time.perf_counter() - t0 < BUDGET_S + DRAIN_S:
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        return {
            "messages": float(len(published)),
            "readings": float(readings),
            "unique": float(unique),
            "stored": float(count),
            "published_s": t_published,
            "seconds": elapsed,
        }
    finally:
        for p in procs:
            p.stop()
        server.stop()
        db.engine.dispose()


def main() -> None:
    if not Path(MOSQUITTO).exists():
        print("mosquitto is not installed: apt-get install mosquitto")
        return
    with postgres_server() as server:
        if server is None:
            print(SKIPPED)
            return
        rates: dict[int, float] = {}
        for bridges in (1, 2):
            with (
                scratch_database(server, f"bridges{bridges}") as url,
                tempfile.TemporaryDirectory() as tmp,
            ):
                m = run(url, Path(tmp), bridges)
                rates[bridges] = m["readings"] / m["seconds"]
                ok = "yes" if m["stored"] == m["unique"] else "NO"
                print(
                    f"PostgreSQL (fsync={fsync_of(url)}), {bridges} bridge process(es): "
                    f"{m['messages']:.0f} messages = {m['readings']:,.0f} readings from "
                    f"{GATEWAYS} gateways (published in {m['published_s']:.1f} s), all stored in "
                    f"{m['seconds']:.1f} s = {rates[bridges]:,.0f} readings/s; "
                    f"stored once: {m['stored']:,.0f} rows = {m['unique']:,.0f} unique keys: {ok}",
                    flush=True,
                )
        print(f"two bridges / one: {rates[2] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
