"""Ingest through the production set: the nginx site we ship (deploy/nginx/voltfleet.conf, TLS)
in front of one API process, then in front of two, on PostgreSQL; readings acknowledged per
second, and the ratio two/one, in one run.

Four gateways post the batches of bench_ingest.py (10,000 readings per request, 5 % repeats,
shuffled) over HTTPS through nginx, each from its own client thread with a keep-alive
connection. The API processes are separate ``voltfleet serve`` processes (as systemd's
voltfleet-api@PORT units run them), not ``--workers``. Bounded: about 20 s per configuration.
On a 2-core machine the client threads, nginx, PostgreSQL and the API processes share the cores,
so two processes cannot double the rate here: the figure says what a second process adds on
this machine, and the note says how busy it was.

    .venv/bin/python benchmarks/bench_nginx_ingest.py
"""

from __future__ import annotations

import ssl
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
from bench_http_ingest import setup
from tests.support.nginx_proxy import Nginx, nginx_binary
from tests.support.server_process import ServerProcess, seed_installer

CLIENTS = 4
BUDGET_S = 20.0


def post_all(
    url: str, tls: ssl.SSLContext, work: list[tuple[str, list[bytes]]]
) -> dict[str, float]:
    lock = threading.Lock()
    state = {"requests": 0, "readings": 0, "errors": 0}
    t0 = time.perf_counter()

    def worker(token: str, bodies: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=url, timeout=120, trust_env=False, verify=tls) as http:
            for body in bodies:
                if time.perf_counter() - t0 > BUDGET_S:
                    return
                r = http.post("/api/v1/ingest", content=body, headers=headers)
                with lock:
                    state["requests"] += 1
                    if r.status_code == 200:
                        state["readings"] += r.json()["received"]
                    else:
                        if not state["errors"]:
                            print(f"  first error: {r.status_code} {r.text[:200]}", flush=True)
                        state["errors"] += 1

    threads = [threading.Thread(target=worker, args=w) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**state, "seconds": time.perf_counter() - t0}


def run(database_url: str, tmp: Path, processes: int) -> dict[str, float]:
    email, password = seed_installer(database_url, tmp)
    servers = [
        ServerProcess(database_url, tmp, env={"VOLTFLEET_TRUSTED_PROXIES": "127.0.0.1"},
                      log_name=f"api-{n}.log")
        for n in range(processes)
    ]  # fmt: skip
    proxy = Nginx(tmp / "nginx", [s.port for s in servers])
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    try:
        for s in servers:
            s.start()
        proxy.start()
        tls = ssl.create_default_context(cafile=str(proxy.cert))
        work = []
        for k in range(CLIENTS):
            token = setup(servers[0].url, email, password, k)
            bodies = [
                body for body, _ in b.batches([f"BENCHDEV{k}{i}" for i in range(b.DEVICES)], start)
            ]
            work.append((token, bodies))
        return post_all(proxy.url, tls, work)
    finally:
        proxy.stop()
        for s in servers:
            s.stop()


def main() -> None:
    if nginx_binary() is None:
        print("nginx not installed: apt-get install nginx")
        return
    with postgres_server() as server:
        if server is None:
            print(SKIPPED)
            return
        rates = {}
        for processes in (1, 2):
            with (
                scratch_database(server, f"nginx{processes}") as url,
                tempfile.TemporaryDirectory() as tmp,
            ):
                p = run(url, Path(tmp), processes)
                rates[processes] = p["readings"] / p["seconds"]
                print(
                    f"PostgreSQL (fsync={fsync_of(url)}) behind nginx, "
                    f"{processes} API process(es): "
                    f"{p['requests']:.0f} requests, errors {p['errors']:.0f}, "
                    f"{rates[processes]:,.0f} readings/s acknowledged",
                    flush=True,
                )
        if rates[1] and rates[2]:
            print(f"two processes / one: {rates[2] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
