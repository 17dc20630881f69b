"""``voltfleet.ports.Jobs`` on PostgreSQL: a procrastinate 3.10 queue in the platform's database.

Every registered job is a procrastinate task of the same name. ``defer`` inserts a job row (from
any process: API, bridge, worker); ``voltfleet worker`` processes claim jobs with
``SELECT ... FOR UPDATE SKIP LOCKED`` (a job claimed by one worker is never run by another), wake
on LISTEN/NOTIFY, and each defers the periodic jobs: the database keeps one job per (task,
period), however many workers run (``procrastinate_periodic_defers``). A periodic job has its
name as lock and queueing lock: two runs never overlap and, after an outage, one waits at most.

The schema is procrastinate's own (tables ``procrastinate_*`` in the PostgreSQL schema
``procrastinate``, apart from the tables Alembic owns), created by ``ensure_schema`` once; a
later procrastinate release brings SQL migrations (``procrastinate schema --migrations-path``)
to apply before upgrading the pin.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate.schema import SchemaManager
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from voltfleet.jobs.schedule import cron_for, validate
from voltfleet.ports import Clock, JobArg, JobSpec
from voltfleet.usecases.jobs import JobRegistry

log = logging.getLogger("voltfleet.jobs")

# The queue lives in a PostgreSQL schema of its own, beside the platform's tables (which Alembic
# owns): its connections put it first on their search path.
SCHEMA = "procrastinate"
_SCHEMA_LOCK = 0x766F6C74  # "volt": the advisory lock held while the schema is checked/applied


def conninfo(database_url: str) -> str:
    """A libpq connection string for a SQLAlchemy URL (``postgresql+psycopg://...``) whose
    sessions find the queue's schema first."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ValueError("the job queue needs PostgreSQL")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return make_conninfo(plain, options=f"-c search_path={SCHEMA}")


def ensure_schema(database_url: str) -> bool:
    """Create procrastinate's tables and functions in the schema ``procrastinate`` unless they
    exist (``apply_schema`` alone fails the second time); safe when several processes start at
    once. True when applied."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute(
            f"SELECT to_regclass('{SCHEMA}.procrastinate_jobs') IS NOT NULL"
        ).fetchone()
        if row is not None and row[0]:
            return False
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(SchemaManager.get_schema().encode())  # a script without parameters
    log.info("created the job queue's tables (procrastinate, schema %s)", SCHEMA)
    return True


def _task_function(spec: JobSpec, clock: Clock) -> Any:
    def run(**kwargs: Any) -> None:
        kwargs.pop("timestamp", None)  # procrastinate's period of a periodic job: we use now
        spec.run(clock.now(), **kwargs)

    run.__name__ = run.__qualname__ = spec.name.replace("-", "_")
    return run


class ProcrastinateJobs:
    """Defers to, and runs workers of, the procrastinate queue in ``database_url``.
    ``delete_jobs``: which finished jobs the workers delete ("successful" keeps failures to
    look at; "never" keeps all, for tests)."""

    def __init__(
        self,
        registry: JobRegistry,
        database_url: str,
        clock: Clock,
        *,
        delete_jobs: str = "successful",
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.conninfo = conninfo(database_url)
        self.delete_jobs = delete_jobs
        for spec in registry:
            if spec.schedule is not None:
                validate(spec.schedule)
        # Deferring from ordinary (threaded) code: a small synchronous pool, opened on first use.
        # A worker builds its own app on an asynchronous pool (``run_worker``).
        self.app, self._tasks = self._build(
            procrastinate.SyncPsycopgConnector(conninfo=self.conninfo, min_size=1, max_size=4)
        )
        self._open_lock = threading.Lock()
        self._opened = False

    def _build(self, connector: Any) -> tuple[procrastinate.App, dict[str, Any]]:
        app = procrastinate.App(connector=connector)
        tasks: dict[str, Any] = {}
        for spec in self.registry:
            tasks[spec.name] = task = app.task(name=spec.name, lock=spec.lock, pass_context=False)(
                _task_function(spec, self.clock)
            )
            if spec.schedule is not None:
                app.periodic(
                    cron=cron_for(spec.schedule),
                    periodic_id=spec.name,
                    lock=spec.lock or spec.name,
                    queueing_lock=spec.name,
                )(task)
        return app, tasks

    def defer(
        self,
        name: str,
        args: Mapping[str, JobArg] | None = None,
        *,
        at: datetime | None = None,
        lock: str | None = None,
        queueing_lock: str | None = None,
    ) -> bool:
        self.registry.get(name)  # KeyError for an unknown job
        if at is not None and at.tzinfo is None:
            raise ValueError("a job's instant must be timezone-aware")
        self._open()
        options: dict[str, Any] = {}
        if lock is not None:
            options["lock"] = lock
        if queueing_lock is not None:
            options["queueing_lock"] = queueing_lock
        if at is not None:
            options["schedule_at"] = at
        try:
            self._tasks[name].configure(**options).defer(**dict(args or {}))
        except procrastinate_errors.AlreadyEnqueued:
            return False
        return True

    def _open(self) -> None:
        with self._open_lock:
            if not self._opened:
                self.app.open()
                self._opened = True

    def close(self) -> None:
        with self._open_lock:
            if self._opened:
                self.app.close()
                self._opened = False

    async def run_worker(
        self,
        *,
        name: str | None = None,
        concurrency: int = 2,
        install_signal_handlers: bool = True,
        wait: bool = True,
        polling_interval_s: float = 1.0,
        shutdown_timeout_s: float = 30.0,
    ) -> None:
        """Run a worker until stopped (SIGINT or SIGTERM when ``install_signal_handlers``, or
        cancellation): claims jobs of every queue and defers the periodic jobs. Jobs are plain
        functions, run in threads; a stopping worker lets running jobs finish for up to
        ``shutdown_timeout_s``."""
        app, _ = self._build(
            procrastinate.PsycopgConnector(
                conninfo=self.conninfo, min_size=1, max_size=concurrency + 2
            )
        )
        named: dict[str, Any] = {"name": name} if name else {}
        async with app.open_async():
            await app.run_worker_async(
                **named,
                concurrency=concurrency,
                wait=wait,
                install_signal_handlers=install_signal_handlers,
                fetch_job_polling_interval=polling_interval_s,
                abort_job_polling_interval=polling_interval_s,
                shutdown_graceful_timeout=shutdown_timeout_s,
                delete_jobs=self.delete_jobs,
            )

    def run_worker_sync(self, **kwargs: Any) -> None:
        asyncio.run(self.run_worker(**kwargs))
