"""The ``Jobs`` contract: the in-process runner and the procrastinate queue behave alike for the
code that defers jobs (runs with their arguments and the clock's now, a queueing lock
deduplicates a waiting job, a delayed job waits for its instant, unknown jobs and naive
instants are refused). A "drain" runs what is due: ``run_due()`` in-process, a worker that stops
once the queue is empty on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.support.pg_server import fresh_database
from voltfleet.clock import ManualClock, SystemClock
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.procrastinate_jobs import ProcrastinateJobs, conninfo, ensure_schema
from voltfleet.ports import Every, JobArg, Jobs, JobSpec
from voltfleet.usecases.jobs import JobRegistry, job_key


@dataclass
class Harness:
    jobs: Jobs
    drain: Callable[[], None]
    runs: list[tuple[str, dict[str, JobArg], datetime]]


def recording_registry(runs: list[tuple[str, dict[str, JobArg], datetime]]) -> JobRegistry:
    registry = JobRegistry()
    for name in ("report", "upgrade"):
        registry.add(JobSpec(name, lambda now, _n=name, **args: runs.append((_n, dict(args), now))))
    return registry


@pytest.fixture(scope="module")
def queue_url(pg_url: str | None) -> str | None:
    if pg_url is None:
        return None
    url = fresh_database(pg_url, "voltfleet_jobs_contract")
    assert ensure_schema(url) is True
    assert ensure_schema(url) is False  # the second time: nothing to do, no error
    return url


@pytest.fixture(params=["inprocess", "postgresql"])
def harness(request: pytest.FixtureRequest, queue_url: str | None) -> Iterator[Harness]:
    runs: list[tuple[str, dict[str, JobArg], datetime]] = []
    registry = recording_registry(runs)
    if request.param == "inprocess":
        inproc = InProcessJobs(registry, ManualClock(datetime.now(UTC)))
        yield Harness(inproc, inproc.run_due, runs)
        return
    if queue_url is None:
        pytest.skip("PostgreSQL server not available")
    with psycopg.connect(conninfo(queue_url), autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs CASCADE")
    queue = ProcrastinateJobs(registry, queue_url, SystemClock(), delete_jobs="never")

    def drain() -> None:
        queue.run_worker_sync(wait=False, install_signal_handlers=False, concurrency=1)

    try:
        yield Harness(queue, drain, runs)
    finally:
        queue.close()


def test_a_deferred_job_runs_once_with_its_arguments(harness: Harness) -> None:
    before = datetime.now(UTC)
    assert harness.jobs.defer("report", {"site": "s-1", "days": 7}) is True
    harness.drain()
    harness.drain()
    assert [(n, a) for n, a, _ in harness.runs] == [("report", {"site": "s-1", "days": 7})]
    assert harness.runs[0][2] >= before - timedelta(seconds=1)


def test_a_queueing_lock_deduplicates_a_waiting_job(harness: Harness) -> None:
    assert harness.jobs.defer("report", {"site": "a"}, queueing_lock="report:a") is True
    assert harness.jobs.defer("report", {"site": "a"}, queueing_lock="report:a") is False
    assert harness.jobs.defer("report", {"site": "b"}, queueing_lock="report:b") is True
    harness.drain()
    assert sorted(a["site"] or "" for _, a, _ in harness.runs) == ["a", "b"]
    # once it ran, the same job may be queued again
    assert harness.jobs.defer("report", {"site": "a"}, queueing_lock="report:a") is True


def test_the_same_job_with_the_same_arguments_is_deferred_once(harness: Harness) -> None:
    for args in ({"site": "a", "days": 7}, {"days": 7, "site": "a"}, {"site": "a", "days": 1}):
        harness.jobs.defer("report", args, queueing_lock=job_key("report", args))
    harness.drain()
    assert sorted(a["days"] or 0 for _, a, _ in harness.runs) == [1, 7]


def test_a_delayed_job_waits_for_its_instant(harness: Harness) -> None:
    now = datetime.now(UTC)
    assert harness.jobs.defer("upgrade", {"device": "d-1"}, at=now + timedelta(hours=1))
    assert harness.jobs.defer("upgrade", {"device": "d-2"}, at=now - timedelta(seconds=1))
    harness.drain()
    assert [a for _, a, _ in harness.runs] == [{"device": "d-2"}]


def test_unknown_jobs_and_naive_instants_are_refused(harness: Harness) -> None:
    with pytest.raises(KeyError, match="unknown job 'nope'"):
        harness.jobs.defer("nope")
    with pytest.raises(ValueError, match="timezone-aware"):
        harness.jobs.defer("report", at=datetime(2026, 1, 1))
    harness.drain()
    assert harness.runs == []


# ---- the in-process runner's own behaviour ---------------------------------------------------


def test_inprocess_a_delayed_job_runs_when_the_clock_reaches_it() -> None:
    runs: list[tuple[str, dict[str, JobArg], datetime]] = []
    clock = ManualClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    jobs = InProcessJobs(recording_registry(runs), clock)
    jobs.defer("upgrade", {"device": "d-1"}, at=datetime(2026, 3, 1, 22, tzinfo=UTC))
    clock.advance(timedelta(hours=9, minutes=59))
    assert jobs.run_due() == [] and jobs.pending() == 1
    clock.advance(timedelta(minutes=1))
    assert jobs.run_due() == ["upgrade"]
    assert runs == [("upgrade", {"device": "d-1"}, datetime(2026, 3, 1, 22, tzinfo=UTC))]


def test_inprocess_runs_with_one_lock_never_overlap_and_periodic_jobs_keep_time() -> None:
    clock = ManualClock(datetime.now(UTC))
    active: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    done: list[str] = []
    mutex = threading.Lock()

    def slow(now: datetime, key: str) -> None:
        with mutex:
            active.append(key)
            if len(active) > 1:
                overlaps.append(tuple(active))
        time.sleep(0.05)
        with mutex:
            active.remove(key)
            done.append(key)

    ticks: list[datetime] = []
    registry = JobRegistry()
    registry.add(JobSpec("slow", slow, lock="device-1"))
    registry.add(JobSpec("tick", lambda now: ticks.append(now), Every(10)))
    jobs = InProcessJobs(registry, clock)
    for key in "abcd":
        jobs.defer("slow", {"key": key})
    threads = [threading.Thread(target=jobs.run_due) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(done) == ["a", "b", "c", "d"] and overlaps == []

    start = clock.now()
    for _ in range(3):
        clock.advance(timedelta(seconds=10))
        jobs.run_due()
    clock.advance(timedelta(seconds=5))
    assert jobs.run_due() == []  # not due again before its period
    assert ticks == [start + timedelta(seconds=10 * i) for i in (1, 2, 3)]


def test_inprocess_threads_run_jobs_in_the_background_and_stop() -> None:
    runs: list[tuple[str, dict[str, JobArg], datetime]] = []
    ticks: list[datetime] = []
    registry = recording_registry(runs)
    registry.add(JobSpec("tick", lambda now: ticks.append(now), Every(0.05)))
    jobs = InProcessJobs(registry, SystemClock())
    before = set(threading.enumerate())  # other tests' runners may still be winding down
    jobs.start()
    try:
        jobs.defer("report", {"site": "x"})
        deadline = time.monotonic() + 5
        while not (runs and len(ticks) >= 3):
            assert time.monotonic() < deadline, (runs, ticks)
            time.sleep(0.02)
        assert {t.name for t in set(threading.enumerate()) - before} >= {"tick", "jobs-queue"}
    finally:
        jobs.stop()
    assert not {t.name for t in set(threading.enumerate()) - before} & {"tick", "jobs-queue"}
    assert [a for _, a, _ in runs] == [{"site": "x"}]


def test_inprocess_a_failing_periodic_job_is_logged_once_and_its_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    outcomes = iter([False, False, False, True, True])

    def flaky(now: datetime) -> None:
        if not next(outcomes):
            raise ConnectionError("database unavailable")

    registry = JobRegistry()
    registry.add(JobSpec("flaky", flaky, Every(10)))
    jobs = InProcessJobs(registry, clock)
    with caplog.at_level("INFO", logger="voltfleet.jobs"):
        for _ in range(5):
            clock.advance(timedelta(seconds=10))
            assert jobs.run_due() == ["flaky"]  # a failure does not stop the schedule
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "job flaky failed; tried again every period",
        "job flaky works again",
    ]
    assert caplog.records[0].exc_info is not None  # with the traceback, once
