"""Reliability of HTTP ingest (issue 4): the server is killed with SIGKILL again and again while
gateways send readings with 5 % repeats and 10 % out of order; every acknowledged reading is
stored exactly once, and the roll-ups equal a recomputation from the stored readings.

A real ``voltfleet serve`` child process on a file SQLite database, and on a throwaway PostgreSQL
server. The gateways are coroutines in the test process (httpx): a batch whose answer was lost
(connection reset or refused, or 503) is *unknown* and is sent again, as a real gateway does,
until it is acknowledged. The kills come at seeded random moments (after a seeded number of
acknowledged batches, plus a few random milliseconds, so requests are in flight). Bounded: a
fixed number of batches, every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.pg_server import PgServer, pg_bindir
from tests.support.server_process import ServerProcess, seed_installer
from voltfleet.domain.telemetry.readings import Sample
from voltfleet.domain.telemetry.rollup import Resolution, average, energy
from voltfleet.simulator.client import HomeAccount, VoltfleetClient
from voltfleet.store.timeseries import store_for

SEED = 4
SITES = 3
BATCHES = 36  # per gateway
TICKS_PER_BATCH = 6
STEP = timedelta(seconds=40)  # 216 ticks: 2.4 hours of data per series
KILLS = 5
LATE = 0.10  # share of readings held back and sent in a later batch (out of order)
REPEAT = 0.05  # share of readings that are repeats of earlier ones
TZ = "Europe/Berlin"
SEND_DEADLINE_S = 70.0  # generous: five restarts on a loaded machine
# (device role, point): the inverter's PV power and yield counter, the meter's import counter
SERIES = (
    ("inv", "pv_power_w", "W"),
    ("inv", "pv_energy_wh", "Wh"),
    ("mtr", "grid_import_energy_wh", "Wh"),
)
COUNTERS = ("pv_energy_wh", "grid_import_energy_wh")

Key = tuple[str, str, datetime]  # (device id, point, ts)


@dataclass
class Batch:
    number: int
    readings: list[dict[str, Any]]
    keys: list[Key]
    attempts: int = 0
    lost_answers: int = 0  # attempts whose answer never came (reset, refused, 503)


@dataclass
class Gateway:
    home: HomeAccount
    queue: deque[Batch]
    expected: dict[Key, float] = field(default_factory=dict)
    acked: set[Key] = field(default_factory=set)
    accepted: int = 0
    duplicates: int = 0
    acked_batches: int = 0
    lost_answers: int = 0  # requests without an answer (reset, refused, 503): sent again
    cut_off: int = 0  # of those, requests the kill cut off in flight (not refused at connect)
    out_of_order: int = 0
    repeats: int = 0
    total: int = 0


def plan(home: HomeAccount, rng: random.Random, start: datetime) -> Gateway:
    """The batches one gateway sends, in order: the series' readings tick by tick, 10 % held back
    for 1..3 batches, plus repeats of readings sent before (5 %)."""
    dev = {"inv": home.device_ids[home.inverter_serial], "mtr": home.device_ids[home.meter_serial]}
    counter = {p: 1000.0 * (1 + rng.random()) for p in COUNTERS}
    held: list[tuple[int, dict[str, Any], Key]] = []  # (release batch, reading, key)
    sent: list[tuple[dict[str, Any], Key]] = []
    newest: dict[tuple[str, str], datetime] = {}
    gw = Gateway(home, deque())
    for b in range(BATCHES):
        items: list[tuple[dict[str, Any], Key]] = []
        for k in range(TICKS_PER_BATCH):
            ts = start + STEP * (b * TICKS_PER_BATCH + k)
            for role, point, unit in SERIES:
                if point in counter:
                    counter[point] += round(rng.uniform(0.0, 40.0), 3)  # monotonic
                    value = counter[point]
                else:
                    value = round(rng.uniform(0.0, 4000.0), 1)
                reading = {"device": serial(home, role), "point": point, "ts": ts.isoformat(),
                           "value": value, "unit": unit}  # fmt: skip
                key = (dev[role], point, ts)
                gw.expected[key] = value
                if b < BATCHES - 1 and rng.random() < LATE:
                    held.append((b + rng.randint(1, 3), reading, key))
                else:
                    items.append((reading, key))
        due = [h for h in held if h[0] <= b or b == BATCHES - 1]
        held = [h for h in held if h not in due]
        items += [(r, k) for _, r, k in due]
        for _, (dev_id, point, ts) in items:  # first sends that arrive after newer ones
            if (dev_id, point) in newest and ts < newest[dev_id, point]:
                gw.out_of_order += 1
            newest[dev_id, point] = max(ts, newest.get((dev_id, point), ts))
        for _ in range(len(items)):
            if sent and rng.random() < REPEAT:
                items.append(rng.choice(sent))
                gw.repeats += 1
        sent.extend(items)
        gw.total += len(items)
        gw.queue.append(Batch(b, [r for r, _ in items], [k for _, k in items]))
    assert not held
    return gw


def serial(home: HomeAccount, role: str) -> str:
    return home.inverter_serial if role == "inv" else home.meter_serial


async def send_all(gw: Gateway, http: httpx.AsyncClient, deadline: float) -> None:
    """Send the gateway's batches in order; a batch is done only when acknowledged (HTTP 200)."""
    backoff = 0.05
    headers = {"Authorization": f"Bearer {gw.home.token}"}
    while gw.queue:
        batch = gw.queue[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"gateway {gw.home.index}: {len(gw.queue)} batches unsent")
        batch.attempts += 1
        try:
            r = await http.post(
                "/api/v1/ingest", json={"readings": batch.readings}, headers=headers
            )
        except httpx.TransportError as exc:
            r = None
            if not isinstance(exc, httpx.ConnectError):
                gw.cut_off += 1
        if r is None or r.status_code == 503:  # unknown: stored or not, send it again
            batch.lost_answers += 1
            gw.lost_answers += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 0.5)
            continue
        assert r.status_code == 200, (r.status_code, r.text[:500])
        backoff = 0.05
        body = r.json()
        assert body["quarantined"] == 0, body["rejections"][:5]
        assert body["received"] == len(batch.readings)
        assert body["accepted"] + body["duplicates"] == len(batch.readings), body
        gw.accepted += body["accepted"]
        gw.duplicates += body["duplicates"]
        gw.acked.update(batch.keys)
        gw.acked_batches += 1
        gw.queue.popleft()


async def kill_repeatedly(
    server: ServerProcess,
    gateways: list[Gateway],
    rng: random.Random,
    deadline: float,
    restarts: list[float],
) -> list[int]:
    """SIGKILL the server after seeded numbers of acknowledged batches (and a few random ms, so
    requests are in flight), restart it on the same database each time; returns the numbers."""
    total = SITES * BATCHES
    at = sorted(rng.sample(range(6, total - 12), KILLS))
    for threshold in at:
        while sum(g.acked_batches for g in gateways) < threshold:
            if time.monotonic() > deadline:
                raise AssertionError(f"stuck before kill at {threshold} acknowledged batches")
            await asyncio.sleep(0.005)
        await asyncio.sleep(rng.uniform(0.0, 0.03))
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(rng.uniform(0.0, 0.2))  # gateways meet a refused connection
        t = time.monotonic()
        await asyncio.to_thread(server.start)
        restarts.append(time.monotonic() - t)
    return at


async def scenario(
    server: ServerProcess, email: str, password: str, restarts: list[float]
) -> list[Gateway]:
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    async with VoltfleetClient(server.url) as client:
        await client.sign_in(email, password)
        homes = [
            await client.create_home(
                i,
                "REL",
                name=f"Home {i}",
                latitude=52.5,
                longitude=13.4,
                timezone=TZ,
                country="DE",
                capacity_kwp=8.0,
                inverter_w=8000.0,
                battery_wh=10000.0,
            )
            for i in range(SITES)
        ]
    gateways = [plan(h, random.Random(SEED * 100 + h.index), start) for h in homes]
    deadline = time.monotonic() + SEND_DEADLINE_S
    limits = httpx.Limits(max_keepalive_connections=SITES)
    async with httpx.AsyncClient(
        base_url=server.url, timeout=15.0, limits=limits, trust_env=False
    ) as http:
        killer = asyncio.create_task(kill_repeatedly(server, gateways, rng, deadline, restarts))
        await asyncio.gather(*(send_all(g, http, deadline) for g in gateways))
        await asyncio.wait_for(killer, 30)  # all kills fall before the last batches
    return gateways


# ---- checking the store -------------------------------------------------------------------------


def check_store(database_url: str, gateways: list[Gateway]) -> dict[str, int]:
    engine = create_engine(database_url)
    lo = min(k[2] for g in gateways for k in g.expected) - timedelta(days=1)
    hi = max(k[2] for g in gateways for k in g.expected) + timedelta(days=1)
    tz = ZoneInfo(TZ)
    counts = {"stored": 0, "rollup_hours": 0}
    try:
        with engine.connect() as conn:
            doubled = conn.execute(
                text(
                    "SELECT device_id, point, ts_us, count(*) FROM device_readings "
                    "GROUP BY device_id, point, ts_us HAVING count(*) > 1"
                )
            ).all()
            assert doubled == [], f"readings stored more than once: {doubled[:5]}"
            quarantined = conn.execute(text("SELECT count(*) FROM quarantined_readings")).scalar()
            assert quarantined == 0
            store = store_for(conn)
            for g in gateways:
                series = {(d, p) for d, p, _ in g.expected}
                for device_id, point in sorted(series):
                    rows = store.read(device_id, point, lo, hi)
                    stored = {s.ts: s.value for s in rows}
                    assert len(stored) == len(rows)
                    want = {k[2]: v for k, v in g.expected.items() if k[:2] == (device_id, point)}
                    acked = {k[2] for k in g.acked if k[:2] == (device_id, point)}
                    # every acknowledged reading is stored, and nothing that was not sent
                    assert acked <= set(stored), sorted(acked - set(stored))[:5]
                    assert set(stored) == set(want), sorted(set(stored) ^ set(want))[:5]
                    for ts, value in want.items():
                        assert stored[ts] == pytest.approx(value, rel=1e-6), (point, ts)
                    counts["stored"] += len(stored)
                    counts["rollup_hours"] += check_rollups(store, device_id, point, rows, tz)
        # one row per reading in the table as a whole (the API-level checks above are per series)
        with engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM readings")).scalar()
        assert total == counts["stored"] == sum(len(g.expected) for g in gateways)
    finally:
        engine.dispose()
    return counts


def check_rollups(store: Any, device_id: str, point: str, rows: list[Sample], tz: ZoneInfo) -> int:
    """The stored hourly roll-ups equal a recomputation from the stored raw samples."""
    start = rows[0].ts.replace(minute=0, second=0, microsecond=0)
    end = rows[-1].ts.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    got = store.read_rollups(device_id, point, Resolution.HOUR, start, end)
    if point in COUNTERS:
        want = energy(rows, start, end, Resolution.HOUR, tz)
        total = sum(r.value for r in got)
        assert total == pytest.approx(rows[-1].value - rows[0].value, rel=1e-9)
    else:
        want = average(rows, start, end, Resolution.HOUR, tz)
    assert [r.start for r in got] == [r.start for r in want], (point, got, want)
    for g, w in zip(got, want, strict=True):
        assert g.samples == w.samples, (point, g, w)
        assert g.value == pytest.approx(w.value, rel=1e-9, abs=1e-6), (point, g, w)
    assert len(got) >= 2  # two hours of data at least
    return len(got)


# ---- the test -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'voltfleet.db'}"
        return
    bindir = pg_bindir()
    if bindir is None:
        if os.environ.get("VOLTFLEET_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL is required (VOLTFLEET_REQUIRE_PG=1) but pg_ctl was not found")
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    pg = PgServer(bindir)
    try:
        yield pg.start()
    finally:
        pg.stop()


def test_sigkill_during_ingest_loses_nothing_acknowledged_and_stores_each_reading_once(
    database_url: str, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    email, password = seed_installer(database_url, tmp_path)
    server = ServerProcess(database_url, tmp_path)
    server.start()
    try:
        restarts: list[float] = []
        gateways = asyncio.run(asyncio.wait_for(scenario(server, email, password, restarts), 80))
    finally:
        server.stop()
    assert server.kills == KILLS and server.starts == KILLS + 1

    sent = sum(g.total for g in gateways)
    distinct = sum(len(g.expected) for g in gateways)
    repeats = sum(g.repeats for g in gateways)
    late = sum(g.out_of_order for g in gateways)
    # the traffic is what the issue asks for (seeded: the same every run)
    assert repeats >= 0.04 * distinct and late >= 0.08 * distinct, (repeats, late, distinct)
    lost = sum(g.lost_answers for g in gateways)
    cut_off = sum(g.cut_off for g in gateways)
    counts = check_store(database_url, gateways)
    accepted = sum(g.accepted for g in gateways)
    duplicates = sum(g.duplicates for g in gateways)
    # each batch was acknowledged once; each reading was stored by one request: an acknowledged
    # one (counted in "accepted") or one whose answer the kill cut off after its commit
    assert accepted + duplicates == sent
    committed_unanswered = counts["stored"] - accepted
    assert committed_unanswered >= 0
    assert cut_off >= 1, "no kill hit a request in flight: the test did not test much"
    wall = time.monotonic() - t0
    took = ", ".join(f"{x:.1f}" for x in restarts)
    print(
        f"\n{database_url.split(':')[0]}: {KILLS} SIGKILLs; {sent} readings sent in "
        f"{SITES * BATCHES} batches ({repeats} repeats, {late} out of order), "
        f"{distinct} distinct; acknowledged {sum(len(g.acked) for g in gateways)}, "
        f"stored {counts['stored']} (each once), accepted {accepted}, duplicates {duplicates}; "
        f"{lost} answers lost ({cut_off} requests cut off in flight, {committed_unanswered} "
        f"readings committed before the kill cut the answer off); {counts['rollup_hours']} "
        f"hourly roll-ups checked; restarts took {took} s; {wall:.1f} s in all"
    )
