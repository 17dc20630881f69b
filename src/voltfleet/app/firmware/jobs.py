"""The firmware job: one step of one upgrade task in its own unit of work
(``usecases.firmware.step``), which defers the task's next step itself.

The step needs the ``Jobs`` adapter to defer the next one, and the adapter is built from the
registry: bootstrap hands it over with ``bind`` once both exist. ``wake`` defers a step of every
task that may move (at start: the in-process queue forgets deferred jobs on a restart)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.firmware import commissioning
from voltfleet.app.firmware.chargers import ChargerSender
from voltfleet.app.firmware.delivery import CommandDelivery
from voltfleet.ports import ChargerLink, JobArg, Jobs, JobSpec
from voltfleet.settings import Settings
from voltfleet.store.db import Database
from voltfleet.store.firmware_models import FirmwareTask
from voltfleet.store.firmware_repository import SqlFirmwareRepository
from voltfleet.usecases import firmware as uc
from voltfleet.usecases.jobs import JobRegistry

log = logging.getLogger("voltfleet.firmware")


def delivery(
    session: Session, settings: Settings, chargers: ChargerLink | None = None
) -> CommandDelivery:
    return CommandDelivery(
        session,
        settings.base_url,
        settings.secret_key,
        timedelta(seconds=settings.firmware_url_ttl_s),
        ChargerSender(chargers),
    )


def defer_step(jobs: Jobs | None, task_id: str, at: datetime) -> None:
    if jobs is not None:
        args: dict[str, JobArg] = {"task_id": task_id}
        jobs.defer(
            uc.ADVANCE_TASK_JOB, args, at=at, queueing_lock=f"{uc.ADVANCE_TASK_JOB}:{task_id}"
        )


class TaskStep:
    """The job's function; ``jobs`` is set by ``bind``; ``chargers`` gives the link chargers
    are reached through (OCPP UpdateFirmware), read when a step runs."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        chargers: Callable[[], ChargerLink | None] = lambda: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.jobs: Jobs | None = None
        self.chargers = chargers

    def __call__(self, now: datetime, task_id: JobArg = None) -> int:
        task = str(task_id)
        with self.db.session() as session:
            got = uc.step(
                SqlFirmwareRepository(session),
                delivery(session, self.settings, self.chargers()),
                task,
                now,
            )
        if got.started:
            log.info("firmware task %s: %d device(s) started", task, len(got.started))
        if got.next_at is not None:
            defer_step(self.jobs, task, got.next_at)
        return len(got.started)


def register(
    registry: JobRegistry,
    db: Database,
    settings: Settings,
    chargers: Callable[[], ChargerLink | None] = lambda: None,
) -> None:
    registry.add(
        JobSpec(uc.ADVANCE_TASK_JOB, TaskStep(db, settings, chargers), lock=uc.ADVANCE_TASK_JOB)
    )
    registry.add(
        JobSpec(
            commissioning.REPORT_JOB,
            lambda now, report_id: commissioning.generate(db, str(report_id), now),
        )
    )


def bind(registry: JobRegistry, jobs: Jobs) -> Jobs:
    if uc.ADVANCE_TASK_JOB in registry:
        run = registry.get(uc.ADVANCE_TASK_JOB).run
        if isinstance(run, TaskStep):
            run.jobs = jobs
    return jobs


def wake(db: Database, jobs: Jobs | None, now: datetime) -> int:
    """Defer a step of every task that may move now or later (scheduled ones at their start)."""
    try:
        ids, later = _wakeable(db, now)
    except Exception as exc:  # the database away at start: the tasks wait for their next event
        log.warning("firmware tasks not woken at start: %s", exc)
        return 0
    for task_id in ids:
        defer_step(jobs, task_id, now)
    for task_id, at in later:
        defer_step(jobs, task_id, at)
    return len(ids) + len(later)


def _wakeable(db: Database, now: datetime) -> tuple[list[str], list[tuple[str, datetime]]]:
    with db.session() as session:
        ids = SqlFirmwareRepository(session).movable_tasks(now)
        later = session.execute(
            select(FirmwareTask.id, FirmwareTask.start_at).where(
                FirmwareTask.state == "scheduled", FirmwareTask.start_at > now
            )
        ).all()
    return ids, [(t, at) for t, at in later]
