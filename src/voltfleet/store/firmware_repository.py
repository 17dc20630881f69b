"""The firmware use cases' repository (``usecases.firmware.FirmwareRepository``) on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, or_, select
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
DEVICE_COLUMN = {"gateway": "fw_arm", "lcd": "fw_lcd", "dsp": "fw_dsp"}


def run_of(row: FirmwareRun) -> Run:
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
        rows = self.session.scalars(
            select(FirmwareRun).where(FirmwareRun.task_id == task.id).order_by(FirmwareRun.position)
        ).all()
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
        if runs:
            by_device = {r.device_id: r for r in runs}
            rows = self.session.scalars(
                select(FirmwareRun).where(
                    FirmwareRun.task_id == task_id, FirmwareRun.device_id.in_(list(by_device))
                )
            ).all()
            for row in rows:
                run = by_device[row.device_id]
                row.state = run.state.value
                row.started_at = run.started_at
                row.updated_at = run.updated_at
                row.next_try_at = run.next_try_at
                row.offline_attempts = run.offline_attempts
                row.message = run.message
        self.session.flush()

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

    def set_command(self, task_id: str, device_id: str, command_id: str) -> None:
        row = self.session.scalar(
            select(FirmwareRun).where(
                FirmwareRun.task_id == task_id, FirmwareRun.device_id == device_id
            )
        )
        if row is not None:
            row.command_id = command_id
            self.session.flush()

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
