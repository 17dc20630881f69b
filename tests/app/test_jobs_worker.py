"""Jobs on PostgreSQL: two worker processes share one procrastinate queue without running a job
twice (a claimed job is not run by the other worker, runs with one lock never overlap, a
periodic job is deferred once per period); ``voltfleet worker`` runs the periodic offline sweep
and stops cleanly on SIGTERM."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.app.test_alarms import home
from tests.app.test_telemetry import bearer, iso
from tests.support.job_worker import RUNS_TABLE, SLOW_S, registry
from tests.support.pg_server import fresh_database
from tests.support.waiting import until
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime
from voltfleet.clock import SystemClock
from voltfleet.jobs.procrastinate_jobs import ProcrastinateJobs, conninfo, ensure_schema
from voltfleet.store.fleet_models import Device, DeviceStatusChange

ROOT = Path(__file__).resolve().parents[2]


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen[str], timeout_s: float = 20) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"did not stop within {timeout_s} s on SIGTERM:\n{out}") from None
    return proc.returncode, out


@pytest.fixture
def queue_url(pg_url: str | None) -> str:
    if pg_url is None:
        pytest.skip("PostgreSQL server not available")
    url = fresh_database(pg_url, "voltfleet_jobs_workers")
    ensure_schema(url)
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(RUNS_TABLE)
    return url


@pytest.fixture
def two_workers(queue_url: str) -> Iterator[list[subprocess.Popen[str]]]:
    procs = [spawn(["-m", "tests.support.job_worker", queue_url, n]) for n in ("w1", "w2")]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


def rows(url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def test_two_workers_run_each_job_once_and_periodic_jobs_once_per_period(
    queue_url: str, two_workers: list[subprocess.Popen[str]]
) -> None:
    # Both workers are up and deferring the periodic "tick" before the jobs are queued.
    until(
        lambda: len({w for (w,) in rows(queue_url, "SELECT worker FROM job_runs")}) == 2,
        60,
        "both workers to run a tick",
    )
    jobs = ProcrastinateJobs(registry(queue_url, "test"), queue_url, SystemClock())
    try:
        keys = [f"k{i}" for i in range(6)]
        for key in keys:
            assert jobs.defer("record", {"key": key})
        for key in ("x", "y", "z"):
            assert jobs.defer("locked", {"key": key})
    finally:
        jobs.close()
    until(
        lambda: (
            rows(
                queue_url,
                "SELECT count(*) FROM job_runs WHERE job IN ('record', 'locked') "
                "AND ended_at IS NOT NULL",
            )[0][0]
            >= 9
        ),
        60,
        "the nine jobs to finish",
    )
    time.sleep(1.5)  # a second worker that wrongly took a job too would have recorded it by now
    codes = [stop(p) for p in two_workers]
    assert all(code == 0 for code, _ in codes), codes

    runs = rows(
        queue_url,
        "SELECT job, key, worker, started_at, ended_at FROM job_runs "
        "WHERE job IN ('record', 'locked') ORDER BY started_at",
    )
    # every job ran exactly once: a job claimed by one worker was not run by the other
    assert sorted(key for _, key, *_ in runs) == sorted([*keys, "x", "y", "z"])
    record = [r for r in runs if r[0] == "record"]
    assert {w for _, _, w, _, _ in record} == {"w1", "w2"}  # both took jobs...
    assert any(  # ...at the same time
        a[2] != b[2] and a[3] < b[4] and b[3] < a[4] for a in record for b in record
    )
    assert all((e - s).total_seconds() >= SLOW_S for *_, s, e in record)
    states = rows(
        queue_url,
        "SELECT status::text, attempts FROM procrastinate_jobs "
        "WHERE task_name IN ('record', 'locked')",
    )
    assert states == [("succeeded", 1)] * 9
    # one lock: the three "locked" jobs ran one after the other, whichever worker took them
    locked = sorted((s, e) for job, _, _, s, e in runs if job == "locked")
    assert all(prev_end <= start for (_, prev_end), (start, _) in itertools.pairwise(locked))

    # the periodic tick: each period deferred once (not once per worker), each job run once
    periods = rows(
        queue_url,
        "SELECT (args->>'timestamp')::bigint FROM procrastinate_jobs WHERE task_name = 'tick'",
    )
    stamps = [p for (p,) in periods]
    assert len(stamps) >= 3 and len(stamps) == len(set(stamps))
    ticks = rows(queue_url, "SELECT count(*) FROM job_runs WHERE job = 'tick'")[0][0]
    succeeded = rows(
        queue_url,
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'tick' AND status = 'succeeded'",
    )[0][0]
    assert ticks == succeeded and ticks >= 3


@pytest.mark.parametrize("runtime", ["postgresql"], indirect=True)
def test_voltfleet_worker_runs_the_offline_sweep_and_stops_on_sigterm(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    ids, token = home(client, world, "GWW1")
    ts = iso(datetime.now(UTC).replace(microsecond=0))
    reading = {"device": "GWW1-INV", "point": "pv_power_w", "ts": ts, "value": 5.0, "unit": "W"}
    r = client.post("/api/v1/ingest", json={"readings": [reading]}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    inv = ids["GWW1-INV"]
    with runtime.db.session() as s:  # silent for an hour
        s.execute(
            update(Device)
            .where(Device.id == inv)
            .values(last_seen=datetime.now(UTC) - timedelta(hours=1))
        )

    def status() -> str:
        with runtime.db.session() as s:
            device = s.get(Device, inv)
            assert device is not None
            return device.status

    assert status() == "online"
    env = {
        "VOLTFLEET_DATABASE_URL": runtime.db.url,
        "VOLTFLEET_MODE": "dev",
        "VOLTFLEET_OFFLINE_AFTER_S": "30",  # the sweep every 6 s
    }
    proc = spawn(["-m", "voltfleet.cli", "worker", "--name", "w-test"], env)
    try:
        until(lambda: status() == "offline", 60, "the worker's offline sweep")
    finally:
        code, out = stop(proc)
    assert code == 0, out
    listed = next(line for line in out.splitlines() if "voltfleet worker: periodic jobs" in line)
    assert "offline-sweeper" in listed and "command-sweeper" in listed, listed
    assert "voltfleet worker: stopped" in out
    with runtime.db.session() as s:
        history = s.scalars(
            select(DeviceStatusChange.status).where(DeviceStatusChange.device_id == inv)
        ).all()
    assert list(history).count("offline") == 1


def test_voltfleet_worker_refuses_sqlite(tmp_path: Path) -> None:
    proc = spawn(
        ["-m", "voltfleet.cli", "worker"],
        {"VOLTFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "VOLTFLEET_MODE": "dev"},
    )
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "needs PostgreSQL" in out
