"""Ingest throughput through the HTTP path: a real ``voltfleet serve`` process on loopback, a
client posting gateway batches with its token, beside the raw insert rate of the same database
measured in the same run.

Two gateways (two homes), each with the batches of bench_ingest.py (5 devices x 4 data points x
500 instants = 10,000 readings per request, 5 % repeats of the previous batch, shuffled),
pre-encoded, each posted in order by its own client thread with a keep-alive connection; the
server is ``voltfleet serve`` (one process; VOLTFLEET_BENCH_WORKERS=1,2 runs ``--workers 1``
and then ``--workers 2``) on SQLite in a temporary directory (WAL, synchronous=NORMAL, as
voltfleet runs it), or on PostgreSQL (benchmarks/_pg.py: durable commits unless
VOLTFLEET_BENCH_PG_FAST=1). The figure is readings
acknowledged per second (each answer comes after the commit), the peer the raw insert rate of
the same rows into a plain table of the same database (bench_ingest.raw). Bounded: 40 batches
or about 20 s per database.

    .venv/bin/python benchmarks/bench_http_ingest.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest as b
from _pg import SKIPPED, fsync_of, postgres_server, scratch_database
from tests.support.server_process import ServerProcess, seed_installer

from voltfleet.store.db import Database

CLIENTS = 2
WORKERS = [int(w) for w in os.environ.get("VOLTFLEET_BENCH_WORKERS", "1").split(",")]
BUDGET_S = 20.0


def setup(url: str, email: str, password: str, k: int) -> str:
    """Home k: a site with gateway BENCHGW{k} and meters BENCHDEV{k}{i}; the gateway's token."""
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as http:
        r = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        r.raise_for_status()
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        gw = f"BENCHGW{k}"
        r = http.post(
            "/api/v1/sites",
            json={"name": f"bench {k}", "timezone": "Europe/Berlin", "gateway": {"serial": gw}},
            headers=h,
        )
        r.raise_for_status()
        sid = r.json()["id"]
        for i in range(b.DEVICES):
            r = http.post(
                f"/api/v1/sites/{sid}/devices",
                json={"kind": "meter", "serial": f"BENCHDEV{k}{i}", "parent_serial": gw},
                headers=h,
            )
            r.raise_for_status()
        devices = http.get("/api/v1/devices", params={"site_id": sid}, headers=h).json()
        gw_id = next(d["id"] for d in devices["items"] if d["serial"] == gw)
        r = http.post(f"/api/v1/devices/{gw_id}/token", headers=h)
        r.raise_for_status()
        return str(r.json()["token"])


def post_all(url: str, work: list[tuple[str, list[bytes]]]) -> dict[str, float]:
    """Each (token, bodies) posted in order by a thread of its own, within the budget."""
    lock = threading.Lock()
    state = {"requests": 0, "readings": 0, "accepted": 0, "errors": 0}
    t0 = time.perf_counter()

    def worker(token: str, bodies: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=url, timeout=120, trust_env=False) as http:
            for body in bodies:
                if time.perf_counter() - t0 > BUDGET_S:
                    return
                r = http.post("/api/v1/ingest", content=body, headers=headers)
                with lock:
                    state["requests"] += 1
                    if r.status_code == 200:
                        answer = r.json()
                        state["readings"] += answer["received"]
                        state["accepted"] += answer["accepted"]
                    else:
                        state["errors"] += 1

    threads = [threading.Thread(target=worker, args=w) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**state, "seconds": time.perf_counter() - t0}


def run(name: str, database_url: str, data_dir: Path, workers: int) -> list[str]:
    email, password = seed_installer(database_url, data_dir)
    server = ServerProcess(database_url, data_dir, workers=workers)
    server.start()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    data = {
        k: b.batches([f"BENCHDEV{k}{i}" for i in range(b.DEVICES)], start) for k in range(CLIENTS)
    }
    try:
        work = [
            (setup(server.url, email, password, k), [body for body, _ in data[k]])
            for k in range(CLIENTS)
        ]
        p = post_all(server.url, work)
    finally:
        server.stop()
    rows = [batch for k in range(CLIENTS) for batch in data[k]]
    db = Database(database_url)
    r = b.raw(db, rows, int(p["requests"]))
    db.engine.dispose()
    rate_p = p["readings"] / p["seconds"]
    rate_r = r["readings"] / r["seconds"]
    return [
        f"\n{name}: {p['requests']:.0f} requests of 10,000 readings ({CLIENTS} gateways, a client "
        f"thread each, {workers} server process(es)), errors {p['errors']:.0f}",
        f"  HTTP ingest: {p['readings']:>9,} readings in {p['seconds']:6.2f} s = "
        f"{rate_p:>10,.0f} readings/s acknowledged (accepted {p['accepted']:,})",
        f"  raw insert : {r['readings']:>9,} rows     in {r['seconds']:6.2f} s = "
        f"{rate_r:>10,.0f} rows/s  (plain table, same database)",
        f"  ratio HTTP/raw: {rate_p / rate_r:.2f}",
    ]


def main() -> None:
    for workers in WORKERS:
        with tempfile.TemporaryDirectory() as tmp:
            lines = run("SQLite", f"sqlite:///{tmp}/bench.db", Path(tmp), workers)
            print("\n".join(lines), flush=True)
    with postgres_server() as server:
        if server is None:
            print(SKIPPED)
            return
        for workers in WORKERS:
            with scratch_database(server, "http") as url, tempfile.TemporaryDirectory() as tmp:
                label = f"PostgreSQL (fsync={fsync_of(url)})"
                print("\n".join(run(label, url, Path(tmp), workers)), flush=True)


if __name__ == "__main__":
    main()
