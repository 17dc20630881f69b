"""A charging limit to a charger held by another process (issue 18): its latency through the
PostgreSQL relay (LISTEN/NOTIFY, app/charging/relay.py) against the same call made by the
process that holds the socket (the baseline), in one run.

Two platform instances on one scratch PostgreSQL database, each served by its own uvicorn on
its own event loop; an OCPP 1.6 station (tests/ocpp/stations.py) connected to instance B.
Times N limits sent one after the other through B's link (local) and through A's (relayed).

    .venv/bin/python benchmarks/bench_ocpp_relay.py [N]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._pg import fsync_of, postgres_server, scratch_database
from fastapi.testclient import TestClient
from tests.app.test_ocpp import make_charger
from tests.ocpp.stations import station
from tests.support.live_server import live_server
from tests.support.world import build_world

from voltfleet.app.charging.charger_link import charger_link
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.settings import Settings


def _ms(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, mean {statistics.fmean(samples):.1f} ms"


def main(n: int) -> None:
    with postgres_server() as server:
        if server is None:
            print("PostgreSQL is not installed: nothing measured")
            return
        with scratch_database(server, "relay") as url:
            settings = Settings(
                mode="test",
                data_dir=Path(tempfile.mkdtemp()),
                database_url=url,
                secret_key="bench-" + "s" * 40,
                argon2_time_cost=1,
                argon2_memory_kib=1024,
            )
            a = build_runtime(settings)
            app_a = create_app(runtime=a)
            b = build_runtime(settings)
            app_b = create_app(runtime=b, migrate=False)
            with TestClient(app_a) as client:
                world = build_world(a)
                charger = make_charger(client, world, "BENCH-RELAY")
            serial = "BENCH-RELAY"
            local, relayed = charger_link(b), charger_link(a)

            async def run() -> tuple[list[float], list[float]]:
                times: dict[str, list[float]] = {"local": [], "relayed": []}
                async with station(base_b, serial, charger["token"]):
                    for name, link in (("local", local), ("relayed", relayed)):
                        for i in range(n):
                            t0 = time.perf_counter()
                            assert await link.set_current_limit(serial, 1, 6.0 + i % 10, 3)
                            times[name].append((time.perf_counter() - t0) * 1000)
                return times["local"], times["relayed"]

            with live_server(app_b) as base_b:
                here, through = asyncio.run(run())
            print(f"PostgreSQL fsync={fsync_of(url)}; {n} SetChargingProfile calls each, in turn")
            print(f"relayed through PostgreSQL (asked by process A, socket in B): {_ms(through)}")
            print(f"baseline, the holding process itself (B):                    {_ms(here)}")
            extra = statistics.median(through) - statistics.median(here)
            print(f"the relay adds {extra:.1f} ms at the median")
            for rt in (a, b):
                rt.db.engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
