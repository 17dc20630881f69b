"""The embedded default of ``voltfleet.ports.Jobs``: jobs run by threads of the serving process.

A small runner rather than APScheduler 3.11: what is due is decided by the injected ``Clock``, so
a test steps a ``ManualClock`` and calls ``run_due()`` instead of sleeping (APScheduler reads the
wall clock itself); periodic jobs are declared in code at start, so no job store is needed; and
locks and queueing locks behave as on the PostgreSQL queue, so code that defers jobs behaves
the same on both. About 150 lines.

- ``start()``: a thread per periodic job, named after the job (a slow price fetch never delays
  the offline sweep), and one "jobs-queue" thread for deferred jobs, run one at a time in due
  order. ``stop()`` ends them (the application's lifespan calls both).
- Deferred (delayed and queued) jobs live in memory: a restart forgets them. Work that must
  survive a restart keeps its own record (a firmware campaign's row) and defers again at start;
  with PostgreSQL the queue is durable (``procrastinate_jobs``).
- A run that raises is logged (once, and its recovery once, for a periodic job); it is not
  retried, a periodic job runs again at its next period.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from voltfleet.jobs.schedule import next_due, validate
from voltfleet.ports import Clock, JobArg, JobSpec
from voltfleet.usecases.jobs import JobRegistry

log = logging.getLogger("voltfleet.jobs")

QUEUE_THREAD = "jobs-queue"
MAX_WAIT_S = 30.0  # a sleeping thread looks at the clock at least this often
LOCK_RETRY_S = 0.05  # a due job whose lock is held looks again this often (instead of spinning)


@dataclass(order=True)
class _Deferred:
    due: datetime
    seq: int
    name: str = field(compare=False)
    args: dict[str, JobArg] = field(compare=False)
    lock: str | None = field(compare=False)
    queueing_lock: str | None = field(compare=False)


class InProcessJobs:
    """Runs the jobs of ``registry`` as of ``clock``; see the module's notes."""

    def __init__(self, registry: JobRegistry, clock: Clock) -> None:
        for spec in registry:
            if spec.schedule is not None:
                validate(spec.schedule)
        self.registry = registry
        self.clock = clock
        self._mutex = threading.Lock()
        self._running: set[str] = set()  # locks held by runs in progress
        self._queue: list[_Deferred] = []  # a heap, by (due, seq)
        self._seq = itertools.count()
        start = clock.now()
        self._next = {
            s.name: next_due(s.schedule, start) for s in registry.periodic() if s.schedule
        }
        self._failing: set[str] = set()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- the port --------------------------------------------------------------------------
    def defer(
        self,
        name: str,
        args: Mapping[str, JobArg] | None = None,
        *,
        at: datetime | None = None,
        lock: str | None = None,
        queueing_lock: str | None = None,
    ) -> bool:
        self.registry.get(name)  # KeyError for an unknown job, at once
        if at is not None and at.tzinfo is None:
            raise ValueError("a job's instant must be timezone-aware")
        with self._mutex:
            if queueing_lock is not None and any(
                d.queueing_lock == queueing_lock for d in self._queue
            ):
                return False
            due = at if at is not None else self.clock.now()
            item = _Deferred(due, next(self._seq), name, dict(args or {}), lock, queueing_lock)
            heapq.heappush(self._queue, item)
        self._wake.set()
        return True

    # ---- running what is due ---------------------------------------------------------------
    def next_due(self, name: str) -> datetime:
        """When the periodic job ``name`` runs next."""
        with self._mutex:
            return self._next[name]

    def pending(self) -> int:
        """Deferred jobs not started yet."""
        with self._mutex:
            return len(self._queue)

    def run_due(self) -> list[str]:
        """Run, in this thread, every periodic job due as of the clock and then every deferred
        job due; returns the names of the jobs run. Tests call this after moving the clock."""
        ran = [name for name in list(self._next) if self._run_periodic(name)]
        while (item := self._take_due()) is not None:
            self._run_deferred(item)
            ran.append(item.name)
        return ran

    def _run_periodic(self, name: str) -> bool:
        spec = self.registry.get(name)
        lock = spec.lock or spec.name
        with self._mutex:
            now = self.clock.now()
            if self._next[name] > now or lock in self._running:
                return False
            self._running.add(lock)
            assert spec.schedule is not None
            self._next[name] = next_due(spec.schedule, now)
        try:
            self._call(spec, now, {}, periodic=True)
        finally:
            with self._mutex:
                self._running.discard(lock)
            self._wake.set()
        return True

    def _take_due(self) -> _Deferred | None:
        """The first deferred job that is due and whose lock is free, taken off the queue."""
        with self._mutex:
            now = self.clock.now()
            for item in sorted(self._queue):
                if item.due > now:
                    break
                lock = item.lock or self.registry.get(item.name).lock
                if lock is not None and lock in self._running:
                    continue
                self._queue.remove(item)
                heapq.heapify(self._queue)
                if lock is not None:
                    self._running.add(lock)
                item.lock = lock
                return item
        return None

    def _run_deferred(self, item: _Deferred) -> None:
        try:
            self._call(self.registry.get(item.name), self.clock.now(), item.args, periodic=False)
        finally:
            if item.lock is not None:
                with self._mutex:
                    self._running.discard(item.lock)
            self._wake.set()

    def _call(
        self, spec: JobSpec, now: datetime, args: dict[str, JobArg], *, periodic: bool
    ) -> None:
        try:
            spec.run(now, **args)
        except Exception:
            if not periodic:
                log.exception("job %s%s failed", spec.name, args or "")
            elif spec.name not in self._failing:  # log a failure once, and the recovery once
                log.exception("job %s failed; tried again every period", spec.name)
            self._failing.add(spec.name)
        else:
            if periodic and spec.name in self._failing:
                log.info("job %s works again", spec.name)
            self._failing.discard(spec.name)

    # ---- background threads ----------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for name in self._next:
            self._threads.append(
                threading.Thread(target=self._periodic_loop, args=(name,), name=name, daemon=True)
            )
        self._threads.append(
            threading.Thread(target=self._queue_loop, name=QUEUE_THREAD, daemon=True)
        )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the threads; a run in progress finishes first (up to ``timeout_s``)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads = []

    def _seconds_until(self, due: datetime) -> float:
        return min(MAX_WAIT_S, (due - self.clock.now()).total_seconds())

    def _periodic_loop(self, name: str) -> None:
        while not self._stop.is_set():
            wait_s = self._seconds_until(self.next_due(name))
            if wait_s > 0:
                self._stop.wait(wait_s)
                continue
            if not self._run_periodic(name):
                self._stop.wait(LOCK_RETRY_S)  # another run holds its lock: look again soon

    def _queue_loop(self) -> None:
        while not self._stop.is_set():
            item = self._take_due()
            if item is not None:
                self._run_deferred(item)
                continue
            with self._mutex:
                first = min(self._queue).due if self._queue else None
            wait_s = MAX_WAIT_S if first is None else max(0.0, self._seconds_until(first))
            self._wake.wait(wait_s or LOCK_RETRY_S)  # a due job blocked by a lock: look again soon
            self._wake.clear()
