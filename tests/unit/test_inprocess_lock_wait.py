"""A periodic job whose lock another run holds waits for it without spinning a core."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from voltfleet.clock import SystemClock
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.ports import Every, JobSpec
from voltfleet.usecases.jobs import JobRegistry


class CountingJobs(InProcessJobs):
    def __init__(self, registry: JobRegistry) -> None:
        super().__init__(registry, SystemClock())
        self.attempts = 0

    def _run_periodic(self, name: str) -> bool:
        if name == "waiter":
            self.attempts += 1
        return super()._run_periodic(name)


def test_a_periodic_job_blocked_by_a_held_lock_does_not_spin() -> None:
    release = threading.Event()
    started = threading.Event()
    ran: list[datetime] = []

    def hold(now: datetime) -> None:
        started.set()
        release.wait(5)

    registry = JobRegistry()
    registry.add(JobSpec("holder", hold, Every(seconds=1), lock="shared"))
    registry.add(JobSpec("waiter", lambda now: ran.append(now), Every(seconds=1), lock="shared"))
    jobs = CountingJobs(registry)
    jobs._next = {name: datetime.now(UTC) for name in jobs._next}  # both due at once
    jobs.start()
    try:
        assert started.wait(5)
        time.sleep(1.0)  # the waiter is due and its lock is held all this second
        attempts = jobs.attempts
        release.set()
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        release.set()
        jobs.stop()
    assert ran, "the waiter ran once the lock was free"
    assert attempts < 100, f"{attempts} attempts in a second: the thread spins"
