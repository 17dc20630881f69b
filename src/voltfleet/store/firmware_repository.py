"""The firmware use cases' repository (``usecases.firmware.FirmwareRepository``) on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from voltfleet.domain.commands import CommandState
from voltfleet.domain.firmware import campaign as fc
from voltfleet.domain.firmware.campaign import Campaign, CampaignState, Run, RunState
from voltfleet.domain.fleet import UP, DeviceStatus
from voltfleet.store.command_models import Command
from voltfleet.store.firmware_models import (
    DeviceFirmware,
    FirmwareRelease,
    FirmwareRun,
    FirmwareTask,
)
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.firmware import Snapshot, Target, policy_from

ACTIVE = [s.value for s in fc.ACTIVE]
# Statuses of a device that answers (a faulted one still talks; an upgrade may be its cure).
REACHABLE = sorted(s.value for s in UP | {DeviceStatus.FAULT})
# The device column that shows a firmware type's version in the device lists.
DEVICE_COLUMN = {"gateway": "fw_arm", "charger": "fw_arm", "lcd": "fw_lcd", "dsp": "fw_dsp"}


RUN_COLUMNS = (
    FirmwareRun.id,
    FirmwareRun.device_id,
    FirmwareRun.wave,
    FirmwareRun.zone,
    FirmwareRun.state,
    FirmwareRun.started_at,
    FirmwareRun.updated_at,
    FirmwareRun.next_try_at,
    FirmwareRun.offline_attempts,
    FirmwareRun.message,
)


def run_of(row: Any) -> Run:
    return Run(
        device_id=row.device_id,
        wave=row.wave,
        zone=row.zone,
        state=RunState(row.state),
        started_at=row.started_at,
        updated_at=row.updated_at,
        next_try_at=row.next_try_at,
        offline_attempts=row.offline_attempts,
        message=row.message,
    )


def campaign_of(task: FirmwareTask) -> Campaign:
    return Campaign(
        state=CampaignState(task.state),
        policy=policy_from(dict(task.policy)),
        start_at=task.start_at,
        unlocked_wave=task.unlocked_wave,
        failed_baseline=task.failed_baseline,
        finished_baseline=task.finished_baseline,
        reason=task.reason,
    )


def current_version(session: Session, device: Device, firmware_type: str) -> str:
    got = session.scalar(
        select(DeviceFirmware.version).where(
            DeviceFirmware.device_id == device.id, DeviceFirmware.firmware_type == firmware_type
        )
    )
    if got:
        return got
    column = DEVICE_COLUMN.get(firmware_type)
    return str(getattr(device, column)) if column else ""


class SqlFirmwareRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._run_ids: dict[str, dict[str, str]] = {}  # task -> device -> run id, from load

    def movable_tasks(self, now: datetime) -> list[str]:
        under_way = exists().where(
            FirmwareRun.task_id == FirmwareTask.id, FirmwareRun.state.in_(ACTIVE)
        )
        stmt = (
            select(FirmwareTask.id)
            .where(
                or_(
                    (FirmwareTask.state == CampaignState.SCHEDULED.value)
                    & (FirmwareTask.start_at <= now),
                    FirmwareTask.state == CampaignState.RUNNING.value,
                    (
                        FirmwareTask.state.in_(
                            [CampaignState.PAUSED.value, CampaignState.CANCELLED.value]
                        )
                    )
                    & under_way,
                )
            )
            .order_by(FirmwareTask.start_at, FirmwareTask.id)
        )
        return list(self.session.scalars(stmt))

    def load(self, task_id: str, *, lock: bool = False) -> Snapshot | None:
        stmt = select(FirmwareTask).where(FirmwareTask.id == task_id)
        if lock:
            stmt = stmt.with_for_update()
        task = self.session.scalar(stmt)
        if task is None:
            return None
        release = self.session.get(FirmwareRelease, task.release_id)
        if release is None:
            return None
        # Plain rows, not ORM objects: a campaign of thousands of devices loads in one query
        # and the session tracks none of them (later flushes stay cheap).
        rows = self.session.execute(
            select(*RUN_COLUMNS)
            .where(FirmwareRun.task_id == task.id)
            .order_by(FirmwareRun.position)
        ).all()
        self._run_ids[task.id] = {r.device_id: r.id for r in rows}
        target = Target(
            release.id, release.version, release.firmware_type, release.sha256, release.size_bytes
        )
        return Snapshot(task.id, campaign_of(task), [run_of(r) for r in rows], target)

    def save(self, task_id: str, campaign: Campaign, runs: Sequence[Run]) -> None:
        task = self.session.get(FirmwareTask, task_id)
        if task is None:
            return
        task.state = campaign.state.value
        task.reason = campaign.reason
        task.unlocked_wave = campaign.unlocked_wave
        task.failed_baseline = campaign.failed_baseline
        task.finished_baseline = campaign.finished_baseline
        self.session.flush()
        if runs:
            ids = self._ids(task_id, [r.device_id for r in runs])
            self.session.execute(
                update(FirmwareRun),
                [
                    {
                        "id": ids[r.device_id],
                        "state": r.state.value,
                        "started_at": r.started_at,
                        "updated_at": r.updated_at,
                        "next_try_at": r.next_try_at,
                        "offline_attempts": r.offline_attempts,
                        "message": r.message,
                    }
                    for r in runs
                    if r.device_id in ids
                ],
            )

    def _ids(self, task_id: str, device_ids: list[str]) -> dict[str, str]:
        known = self._run_ids.get(task_id, {})
        if all(d in known for d in device_ids):
            return known
        got = dict(
            self.session.execute(
                select(FirmwareRun.device_id, FirmwareRun.id).where(
                    FirmwareRun.task_id == task_id, FirmwareRun.device_id.in_(device_ids)
                )
            ).all()
        )
        self._run_ids.setdefault(task_id, {}).update(got)
        return {**known, **got}

    def online(self, device_ids: Sequence[str]) -> set[str]:
        if not device_ids:
            return set()
        return set(
            self.session.scalars(
                select(Device.id).where(
                    Device.id.in_(list(device_ids)),
                    Device.status.in_(REACHABLE),
                    Device.deleted_at.is_(None),
                )
            )
        )

    def set_commands(self, task_id: str, commands: dict[str, str]) -> None:
        if not commands:
            return
        ids = self._ids(task_id, list(commands))
        self.session.execute(
            update(FirmwareRun),
            [{"id": ids[d], "command_id": c} for d, c in commands.items() if d in ids],
        )

    def refused_commands(self, task_id: str) -> dict[str, str]:
        rows = self.session.execute(
            select(FirmwareRun.device_id, Command.state, Command.message)
            .join(Command, Command.id == FirmwareRun.command_id)
            .where(
                FirmwareRun.task_id == task_id,
                FirmwareRun.state.in_(ACTIVE),
                Command.state.in_([CommandState.FAILED.value, CommandState.EXPIRED.value]),
            )
        ).all()
        out = {}
        for device_id, state, message in rows:
            if state == CommandState.EXPIRED.value:
                out[device_id] = "the update never reached the gateway (offline?)"
            else:
                out[device_id] = f"the gateway refused the update: {message or 'no reason given'}"
        return out

    def active_run(self, device_id: str, release_id: str) -> str | None:
        return self.session.scalar(
            select(FirmwareRun.task_id)
            .join(FirmwareTask, FirmwareTask.id == FirmwareRun.task_id)
            .where(
                FirmwareRun.device_id == device_id,
                FirmwareTask.release_id == release_id,
                FirmwareRun.state.in_(ACTIVE),
            )
            .order_by(FirmwareRun.started_at.desc())
            .limit(1)
        )

    def record_version(
        self, device_id: str, firmware_type: str, version: str, now: datetime
    ) -> None:
        row = self.session.scalar(
            select(DeviceFirmware).where(
                DeviceFirmware.device_id == device_id,
                DeviceFirmware.firmware_type == firmware_type,
            )
        )
        if row is None:
            self.session.add(
                DeviceFirmware(
                    device_id=device_id,
                    firmware_type=firmware_type,
                    version=version,
                    reported_at=now,
                )
            )
        else:
            row.version, row.reported_at = version, now
        column = DEVICE_COLUMN.get(firmware_type)
        device = self.session.get(Device, device_id)
        if column and device is not None:
            setattr(device, column, version[:40])
        self.session.flush()
