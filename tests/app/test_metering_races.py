"""Twenty clients sending the same metered interval at once (issue 12, defect 7): on PostgreSQL
each got past the read of known references before any had inserted, and 1-3 of them hit the
unique constraint (500). Now every answer is 200: one stores it, the others count a duplicate,
and it is stored once. Real uvicorn on loopback, one HTTP client per thread, both databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.app.test_tariffs_api import make_site
from tests.support.live_server import live_server
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.money_models import MeterIntervalRow

THREADS = 20


def test_parallel_resends_of_one_record_are_duplicates_not_errors(
    client: TestClient, app: FastAPI, runtime: Runtime
) -> None:
    world = build_world(runtime)
    site = make_site(runtime, world)
    headers = world.accounts["om@I1"].headers()
    outcomes: list[tuple[int, int, int]] = []
    for round_ in range(3):  # a race is a matter of chance: give it three goes
        record = {
            "site_id": site,
            "start_time": f"2026-03-03T0{round_}:00:00Z",
            "end_time": f"2026-03-03T0{round_}:15:00Z",
            "value": 1.0,
            "units": "KWH",
            "direction": "IMPORT",
            "tariff_rate": "IMPORT",
            "record_reference_id": f"race-{round_}",
        }
        barrier = threading.Barrier(THREADS)

        def send(
            base: str, rec: dict[str, object] = record, gate: threading.Barrier = barrier
        ) -> tuple[int, int, int]:
            with httpx.Client(base_url=base, timeout=30) as http:
                gate.wait(timeout=30)
                r = http.put("/api/v1/meters/interval", json=[rec], headers=headers)
                if r.status_code != 200:
                    return r.status_code, -1, -1
                body = r.json()
                return r.status_code, body["accepted"], body["duplicates"]

        with live_server(app) as base, ThreadPoolExecutor(THREADS) as pool:
            got = list(pool.map(lambda _: send(base), range(THREADS)))
        outcomes.extend(got)
        assert [s for s, _, _ in got] == [200] * THREADS, got
        assert sum(a for _, a, _ in got) == 1 and sum(d for _, _, d in got) == THREADS - 1, got
    with runtime.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(MeterIntervalRow))
    assert stored == 3, outcomes
