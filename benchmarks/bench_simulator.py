"""The simulator as a load generator: thousands of homes from one process.

1. The home model alone: 2,000 homes (PV from the DWD weather file, H25 household load, battery,
   meter, EVs in a fifth of them) for one simulated day at 60 s steps, offline. Printed: home-steps
   per second, and how many homes that keeps in real time (each needs one step a minute), beside
   the fleet the demo runs (20 homes).
2. Against a real ``voltfleet serve`` on SQLite (loopback): 1,000 homes created through the API
   (site, gateway, inverter, battery, meter, gateway token each), then an hour of their telemetry
   sent flat out through HTTP ingest with each gateway's token. Printed: homes created per second,
   readings acknowledged per second, and beside it the pipeline rate of bench_ingest (one big
   gateway) is the peer to compare with.

Bounded: 2,000 x 1,440 model steps, 1,000 homes x 60 steps, a wall-time limit on the network
part.

    .venv/bin/python benchmarks/bench_simulator.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server_process import ServerProcess, seed_installer

from voltfleet.simulator.fleet import FleetConfig, make_homes, run_fleet_sync, simulate

MODEL_HOMES = 2_000
MODEL_STEPS = 1_440  # a day of minutes
NET_HOMES = 1_000
NET_HOURS = 1.0
DEMO_HOMES = 20


def model() -> str:
    homes = make_homes(MODEL_HOMES, seed=7, ev_share=0.2)
    start = datetime(2026, 6, 21, tzinfo=UTC)
    t0 = time.perf_counter()
    steps = 0
    for spec in homes:
        for _ in simulate(spec, start, MODEL_STEPS, 60.0):
            steps += 1
    seconds = time.perf_counter() - t0
    rate = steps / seconds
    return (
        f"home model: {MODEL_HOMES:,} homes x {MODEL_STEPS:,} steps of 60 s in {seconds:.1f} s = "
        f"{rate:,.0f} home-steps/s: {rate * 60:,.0f} homes in real time (one step a minute each);"
        f" the demo runs {DEMO_HOMES}"
    )


def network() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/sim.db"
        email, password = seed_installer(url, Path(tmp))
        server = ServerProcess(url, Path(tmp))
        server.start()
        try:
            config = FleetConfig(
                sites=NET_HOMES,
                hours=NET_HOURS,
                speed=float("inf"),
                step_s=60.0,
                seed=11,
                start=datetime.now(UTC).replace(second=0, microsecond=0)
                - timedelta(hours=NET_HOURS + 1),
                command_poll_s=None,
                concurrency=32,
                wall_limit_s=240.0,
                reattach=False,
            )
            t0 = time.perf_counter()
            report = run_fleet_sync(server.url, email, password, config)
            wall = time.perf_counter() - t0
        finally:
            server.stop()
    s = report.stats
    return [
        f"against voltfleet serve (SQLite): {report.summary()}",
        f"  {NET_HOMES:,} homes created and {s.acknowledged:,} readings acknowledged in "
        f"{wall:.1f} s wall (creation included): {s.acknowledged / wall:,.0f} readings/s "
        "overall; compare with bench_http_ingest (one 10,000-reading batch per request)",
    ]


def main() -> None:
    print(model(), flush=True)
    print("\n".join(network()), flush=True)


if __name__ == "__main__":
    main()
