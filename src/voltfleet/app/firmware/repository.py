"""Firmware releases and upgrade tasks as the caller may see them.

A release or task belongs to an organisation. The caller's scope holds those of its organisation
and below it (what its installers uploaded) and, for releases, those of the organisations above
it (what the manufacturer published). Out of scope is 404; in scope, ``POLICY`` decides (owners
are refused everything about firmware: 403)."""

from __future__ import annotations

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.domain.access import Action, Kind
from voltfleet.store.firmware_models import FirmwareRelease, FirmwareTask
from voltfleet.usecases.errors import NotFound


def visible_releases(caller: Caller) -> Select[tuple[FirmwareRelease]]:
    scope = caller.scope_path
    above = literal(scope).like(FirmwareRelease.org_path + "%")
    return select(FirmwareRelease).where(
        or_(FirmwareRelease.org_path.startswith(scope, autoescape=True), above)
    )


def visible_tasks(caller: Caller) -> Select[tuple[FirmwareTask]]:
    return select(FirmwareTask).where(
        FirmwareTask.org_path.startswith(caller.scope_path, autoescape=True)
    )


class FirmwareRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def release(self, release_id: str, action: Action | None = Action.READ) -> FirmwareRelease:
        """Out of scope: 404; in scope, a role that may not: 403 (an owner). ``action`` None:
        the caller checks the policy once everything the request names was found."""
        row = self.session.scalar(
            visible_releases(self.caller).where(FirmwareRelease.id == release_id)
        )
        if row is None:
            raise NotFound("firmware release")
        if action is not None:
            self.caller.require(Kind.FIRMWARE, action)
        return row

    def task(self, task_id: str, action: Action = Action.READ) -> FirmwareTask:
        row = self.session.scalar(visible_tasks(self.caller).where(FirmwareTask.id == task_id))
        if row is None:
            raise NotFound("firmware task")
        self.caller.require(Kind.FIRMWARE, action)
        return row

    def next_number(self) -> int:
        top = self.session.scalar(select(func.max(FirmwareTask.number)))
        return int(top or 0) + 1
