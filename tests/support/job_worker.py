"""A procrastinate worker process for the job-queue tests: ``python -m tests.support.job_worker
DATABASE_URL NAME``. Its jobs record every run in the table ``job_runs`` (created by the test):

- ``record(key)``: a row at start, ``ended_at`` after ``SLOW_S`` (long enough for another worker
  to be tempted by the same job);
- ``locked(key)``: the same, registered with the lock "the-lock";
- ``tick``: periodic, every second, a row per run.

Stops cleanly on SIGTERM (procrastinate's signal handlers)."""

from __future__ import annotations

import sys
import time
from datetime import datetime

import psycopg

from voltfleet.clock import SystemClock
from voltfleet.jobs.procrastinate_jobs import ProcrastinateJobs, conninfo
from voltfleet.ports import Cron, JobSpec
from voltfleet.usecases.jobs import JobRegistry

SLOW_S = 1.5
RUNS_TABLE = """CREATE TABLE IF NOT EXISTS job_runs (
    id serial PRIMARY KEY, job text NOT NULL, key text, worker text NOT NULL,
    started_at timestamptz NOT NULL, ended_at timestamptz)"""


def registry(database_url: str, worker: str) -> JobRegistry:
    info = conninfo(database_url)

    def record_run(job: str, key: str | None, now: datetime, slow_s: float) -> None:
        with psycopg.connect(info, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO job_runs (job, key, worker, started_at) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (job, key, worker, now),
            ).fetchone()
            assert row is not None
            time.sleep(slow_s)
            conn.execute("UPDATE job_runs SET ended_at = clock_timestamp() WHERE id = %s", row)

    jobs = JobRegistry()
    jobs.add(JobSpec("record", lambda now, key: record_run("record", key, now, SLOW_S)))
    jobs.add(
        JobSpec("locked", lambda now, key: record_run("locked", key, now, SLOW_S), lock="the-lock")
    )
    jobs.add(JobSpec("tick", lambda now: record_run("tick", None, now, 0.0), Cron("* * * * * */1")))
    return jobs


def main() -> None:
    database_url, name = sys.argv[1], sys.argv[2]
    jobs = ProcrastinateJobs(
        registry(database_url, name), database_url, SystemClock(), delete_jobs="never"
    )
    print(f"worker {name} ready", flush=True)
    jobs.run_worker_sync(name=name, concurrency=2, polling_interval_s=0.5)
    print(f"worker {name} stopped", flush=True)


if __name__ == "__main__":
    main()
