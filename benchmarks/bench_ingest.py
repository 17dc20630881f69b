"""Ingest throughput: readings per second through the telemetry pipeline, beside the raw insert
rate of the same database measured in the same run.

The pipeline is what ``POST /api/v1/ingest`` does after the HTTP server: parse the JSON body
(msgspec, app/telemetry/decode.py), resolve each device below the gateway, check the readings one
series at a time (catalogue, units, NaN, time window; energy counters against the stored
neighbours), read the series' stored instants to tell new readings from duplicates, store the
new ones (SQLite: executemany; PostgreSQL: binary COPY into a temporary table, then one INSERT
... SELECT into the monthly partitions), merge what they change into the 5-minute, hourly, daily
and monthly roll-ups and the site's summary, mark the devices seen, commit. Each batch is
one gateway's upload: 5 devices x 4 data points x 500 instants (10,000 readings), of which 5 % are
repeats of the previous batch (retries) and arrive in shuffled order.

The peer figure, "raw", is the same database inserting the same rows into a plain table with no
key, no checks and no roll-ups (SQLite: executemany; PostgreSQL: binary COPY), one commit per
batch. The ratio pipeline/raw is the figure. Bounded: about 20 s per database.

    .venv/bin/python benchmarks/bench_ingest.py          # SQLite, and PostgreSQL if installed
    VOLTFLEET_BENCH_PG_URL=postgresql+psycopg://u@host/db ...   # a server of yours (a scratch
                                                                # database is created and dropped)

PostgreSQL: see benchmarks/_pg.py (a throwaway server with durable commits unless
VOLTFLEET_BENCH_PG_FAST=1); SQLite runs as voltfleet runs it (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _pg import SKIPPED, fsync_of, postgres_server, scratch_database

from voltfleet.accounts import ensure_platform
from voltfleet.app.telemetry import service
from voltfleet.app.telemetry.decode import decode_http
from voltfleet.store.db import Database
from voltfleet.store.fleet_models import Device
from voltfleet.store.migrate import upgrade
from voltfleet.store.models import Site
from voltfleet.store.timeseries.sqlite import to_us

DEVICES = 5
POINTS = [
    ("grid_power_w", "W"),
    ("pv_power_w", "W"),
    ("grid_import_energy_wh", "Wh"),
    ("soc", "fraction"),
]
INSTANTS = 500
REPEATS = 0.05
BUDGET_S = 20.0
MAX_BATCHES = 40


def seed(db: Database, home: str = "") -> tuple[str, list[str]]:
    """A site with gateway BENCHGW<home> and meters BENCHDEV<home><i> below it: (the gateway's
    id, the meters' serials)."""
    with db.session() as s:
        org = ensure_platform(s)
        site = Site(org_id=org.id, name=f"bench home {home}", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial=f"BENCHGW{home}")
        s.add(gw)
        s.flush()
        serials = []
        for i in range(DEVICES):
            serial = f"BENCHDEV{home}{i}"
            s.add(Device(site_id=site.id, kind="meter", serial=serial, parent_id=gw.id))
            serials.append(serial)
        return gw.id, serials


def batches(serials: list[str], start: datetime) -> list[tuple[bytes, list[tuple[Any, ...]]]]:
    """JSON bodies, and the same readings as rows for the raw insert."""
    rng = random.Random(1)
    out: list[tuple[bytes, list[tuple[Any, ...]]]] = []
    previous: list[dict[str, Any]] = []
    for b in range(MAX_BATCHES):
        readings: list[dict[str, Any]] = []
        for k in range(INSTANTS):
            ts = start + timedelta(seconds=(b * INSTANTS + k) * 2)
            stamp = ts.isoformat()
            n = b * INSTANTS + k
            for serial in serials:
                for point, unit in POINTS:
                    value = (
                        n * 1.5 if point.endswith("_wh") else (0.5 if point == "soc" else n % 5000)
                    )
                    readings.append(
                        {
                            "device": serial,
                            "point": point,
                            "ts": stamp,
                            "value": value,
                            "unit": unit,
                        }
                    )
        repeats = rng.sample(previous, int(len(readings) * REPEATS)) if previous else []
        body = readings[: len(readings) - len(repeats)] + repeats
        previous = readings
        rng.shuffle(body)
        rows = [
            (r["device"], r["point"], datetime.fromisoformat(r["ts"]), float(r["value"]))
            for r in body
        ]
        out.append((json.dumps({"readings": body}).encode(), rows))
    return out


def pipeline(db: Database, gateway_id: str, data: list[tuple[bytes, list[Any]]]) -> dict[str, Any]:
    n = accepted = duplicates = quarantined = used = 0
    t0 = time.perf_counter()
    for body, _ in data:
        with db.session() as s:
            gateway = s.get(Device, gateway_id)
            assert gateway is not None
            readings, _ = decode_http(body)
            result = service.ingest(s, gateway, readings)
        n += result.received
        accepted += result.accepted
        duplicates += result.duplicates
        quarantined += len(result.rejections)
        used += 1
        if time.perf_counter() - t0 > BUDGET_S / 2:
            break
    elapsed = time.perf_counter() - t0
    return {
        "readings": n,
        "accepted": accepted,
        "duplicates": duplicates,
        "quarantined": quarantined,
        "seconds": elapsed,
        "batches": used,
    }


def raw(db: Database, data: list[tuple[bytes, list[Any]]], batches_used: int) -> dict[str, Any]:
    pg = db.url.startswith("postgresql")
    with db.engine.begin() as conn:
        if pg:
            conn.execute(
                text(
                    "CREATE TABLE bench_raw (device_id text, point text, ts timestamptz, "
                    "value float8)"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TABLE bench_raw (device_id TEXT, point TEXT, ts_us INTEGER, value REAL)"
                )
            )
    n = 0
    t0 = time.perf_counter()
    for _, rows in data[:batches_used]:
        with db.engine.begin() as conn:
            dbapi: Any = conn.connection.driver_connection
            if pg:
                with (
                    dbapi.cursor() as cur,
                    cur.copy(
                        "COPY bench_raw (device_id, point, ts, value) FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.set_types(["text", "text", "timestamptz", "float8"])
                    for row in rows:
                        copy.write_row(row)
            else:
                dbapi.executemany(
                    "INSERT INTO bench_raw VALUES (?, ?, ?, ?)",
                    [(d, p, to_us(ts), v) for d, p, ts, v in rows],
                )
        n += len(rows)
    return {"readings": n, "seconds": time.perf_counter() - t0}


def run(name: str, url: str) -> list[str]:
    upgrade(url)
    db = Database(url)
    gateway_id, serials = seed(db)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    data = batches(serials, start)
    p = pipeline(db, gateway_id, data)
    r = raw(db, data, p["batches"])
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM readings")).scalar_one()
        rollups = conn.execute(text("SELECT count(*) FROM rollups")).scalar_one()
    unique = len({(d, pt, ts) for _, rows in data[: p["batches"]] for d, pt, ts, _ in rows})
    with db.session() as s:
        seen = s.scalar(
            select(func.count()).select_from(Device).where(Device.last_seen.isnot(None))
        )
    db.engine.dispose()
    rate_p = p["readings"] / p["seconds"]
    rate_r = r["readings"] / r["seconds"]
    ok = "yes" if stored == unique == p["accepted"] and p["quarantined"] == 0 else "NO"
    return [
        f"\n{name}: {p['batches']} batches of {len(data[0][1]):,} readings "
        f"({DEVICES} devices x {len(POINTS)} points x {INSTANTS} instants, "
        f"{REPEATS:.0%} repeats, shuffled)",
        f"  pipeline: {p['readings']:>9,} readings in {p['seconds']:6.2f} s = "
        f"{rate_p:>10,.0f} readings/s  (accepted {p['accepted']:,}, duplicates "
        f"{p['duplicates']:,}, quarantined {p['quarantined']:,})",
        f"  raw     : {r['readings']:>9,} rows     in {r['seconds']:6.2f} s = "
        f"{rate_r:>10,.0f} rows/s      (plain table, no key, no checks)",
        f"  ratio pipeline/raw: {rate_p / rate_r:.2f}; stored once: {stored:,} rows = "
        f"{unique:,} unique keys: {ok}; roll-up rows {rollups:,}; devices seen {seen}",
    ]


def main() -> None:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        print("\n".join(run("SQLite", f"sqlite:///{tmp}/bench.db")), flush=True)
    with postgres_server() as server:
        if server is None:
            print(SKIPPED)
            return
        with scratch_database(server, "ingest") as url:
            print("\n".join(run(f"PostgreSQL (fsync={fsync_of(url)})", url)))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
