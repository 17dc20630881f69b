"""Upgrade tasks: create one (a release, the devices picked, now or at a reserved time in the
site's zone, the campaign's knobs), list, details, the device picker and each device's history;
pause, resume, cancel and delete go through ``usecases.firmware``. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Delete, Select, func, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from voltfleet.app import audit, formatting
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import visible_devices
from voltfleet.app.firmware.repository import FirmwareRepository, visible_tasks
from voltfleet.app.i18n import _
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.firmware import campaign as fc
from voltfleet.domain.firmware import releases as fr
from voltfleet.store.firmware_models import FirmwareRelease, FirmwareRun, FirmwareTask
from voltfleet.store.firmware_repository import SqlFirmwareRepository, current_version
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases import firmware as uc
from voltfleet.usecases.errors import Conflict, Invalid, NotFound, Rejected

MAX_DEVICES = 5000


@dataclass(frozen=True)
class NewTask:
    release_id: str
    device_ids: list[str]
    start_at: datetime | None = None  # None: now
    policy: dict[str, Any] | None = None
    confirm_downgrade: bool = False


@dataclass(frozen=True)
class TaskStats:
    pending: int
    running: int
    succeeded: int
    failed: int
    skipped: int


def create(session: Session, caller: Caller, new: NewTask, now: datetime) -> FirmwareTask:
    repo = FirmwareRepository(session, caller)
    release = repo.release(new.release_id, None)
    ids = list(dict.fromkeys(new.device_ids))
    if not ids:
        raise Invalid(_("pick at least one device"), [{"field": "device_ids", "message": "empty"}])
    if len(ids) > MAX_DEVICES:
        raise Invalid(_("at most %(n)s devices in one task") % {"n": MAX_DEVICES})
    if new.start_at is not None and new.start_at.tzinfo is None:
        raise Invalid(_("start_at needs a UTC offset, e.g. 2026-07-10T00:00:00+02:00"))
    devices = {d.id: d for d in session.scalars(visible_devices(caller).where(Device.id.in_(ids)))}
    missing = [i for i in ids if i not in devices]
    if missing:
        raise NotFound("device", f"{len(missing)} device(s) not found: {', '.join(missing[:5])}")
    caller.require(Kind.FIRMWARE, Action.CREATE)
    caller.require(Kind.DEVICE, Action.UPDATE)
    policy = uc.policy_from(dict(new.policy or {}))
    wrong = [d.serial for d in devices.values() if d.kind != release.device_kind]
    if wrong:
        raise Rejected(
            _("%(type)s firmware installs on %(kind)s devices; not on %(serials)s")
            % {
                "type": release.firmware_type,
                "kind": release.device_kind,
                "serials": ", ".join(wrong[:5]),
            },
            [{"field": "device_ids", "message": "wrong device kind"}],
        )
    other_model = [d.serial for d in devices.values() if d.model != release.model]
    if other_model:
        raise Rejected(
            _("this release is for model %(model)s; %(serials)s are not")
            % {"model": release.model, "serials": ", ".join(other_model[:5])},
            [{"field": "device_ids", "message": "wrong model"}],
        )
    versions = {i: current_version(session, devices[i], release.firmware_type) for i in ids}
    down = [devices[i].serial for i in ids if fr.is_downgrade(versions[i], release.version)]
    if down and not new.confirm_downgrade:
        raise Conflict(
            _(
                "%(version)s is older than what %(n)s device(s) run (%(serials)s): confirm the "
                "downgrade to go on"
            )
            % {"version": release.version, "n": len(down), "serials": ", ".join(down[:5])},
            code="downgrade_needs_confirmation",
        )
    zones = dict(
        session.execute(
            select(Site.id, Site.timezone).where(Site.id.in_({d.site_id for d in devices.values()}))
        ).all()
    )
    start = new.start_at or now
    task = FirmwareTask(
        number=repo.next_number(),
        org_id=caller.org.id,
        org_path=caller.org.path,
        release_id=release.id,
        device_kind=release.device_kind,
        firmware_type=release.firmware_type,
        model=release.model,
        version=release.version,
        state=fc.CampaignState.SCHEDULED.value,
        policy=uc.policy_json(policy),
        start_at=start,
        reserved=new.start_at is not None,
        zone=zones.get(devices[ids[0]].site_id, "UTC"),
        allow_downgrade=bool(down),
        created_at=now,
        created_by=caller.user.id,
        creator_name=caller.user.username or caller.user.email,
    )
    session.add(task)
    session.flush()
    waves = fc.waves_of(len(ids), policy)
    for pos, device_id in enumerate(ids):
        d = devices[device_id]
        already = versions[device_id] == release.version
        session.add(
            FirmwareRun(
                task_id=task.id,
                device_id=device_id,
                position=pos,
                wave=waves[pos],
                zone=zones.get(d.site_id, "UTC"),
                state=(fc.RunState.SKIPPED if already else fc.RunState.PENDING).value,
                from_version=versions[device_id],
                updated_at=now if already else None,
                message="already runs this version" if already else "",
            )
        )
    audit.record(
        session,
        actor=caller.user,
        action="firmware.task_created",
        object_type="firmware_task",
        object_id=task.id,
        org_id=caller.org.id,
        address=caller.address,
        detail={"release_id": release.id, "devices": len(ids), "start_at": start.isoformat()},
    )
    session.flush()
    return task


def stats_of(session: Session, task_ids: list[str]) -> dict[str, TaskStats]:
    rows = session.execute(
        select(FirmwareRun.task_id, FirmwareRun.state, func.count())
        .where(FirmwareRun.task_id.in_(task_ids))
        .group_by(FirmwareRun.task_id, FirmwareRun.state)
    ).all()
    counts: dict[str, dict[str, int]] = {t: {} for t in task_ids}
    for task_id, state, n in rows:
        counts[task_id][state] = int(n)
    out = {}
    for t, c in counts.items():
        running = sum(c.get(s.value, 0) for s in fc.ACTIVE)
        out[t] = TaskStats(
            c.get("pending", 0),
            running,
            c.get("succeeded", 0),
            c.get("failed", 0),
            c.get("skipped", 0),
        )
    return out


def query(
    caller: Caller,
    *,
    device_kind: str | None = None,
    model: str | None = None,
    version: str | None = None,
) -> Select[tuple[FirmwareTask]]:
    caller.require(Kind.FIRMWARE, Action.LIST)
    stmt = visible_tasks(caller)
    if device_kind:
        stmt = stmt.where(FirmwareTask.device_kind == device_kind)
    if model:
        stmt = stmt.where(FirmwareTask.model.contains(model, autoescape=True))
    if version:
        stmt = stmt.where(FirmwareTask.version.contains(version, autoescape=True))
    return stmt.order_by(FirmwareTask.number.desc())


def runs_of(session: Session, task: FirmwareTask) -> list[tuple[FirmwareRun, Device]]:
    return list(
        session.execute(
            select(FirmwareRun, Device)
            .join(Device, Device.id == FirmwareRun.device_id)
            .where(FirmwareRun.task_id == task.id)
            .order_by(FirmwareRun.position)
        ).all()
    )


def device_history(session: Session, device: Device) -> list[tuple[FirmwareRun, FirmwareTask]]:
    """A device's upgrades, newest first (the device was checked as visible)."""
    return list(
        session.execute(
            select(FirmwareRun, FirmwareTask)
            .join(FirmwareTask, FirmwareTask.id == FirmwareRun.task_id)
            .where(FirmwareRun.device_id == device.id)
            .order_by(FirmwareTask.created_at.desc())
        ).all()
    )


def candidates(
    session: Session,
    caller: Caller,
    release: FirmwareRelease,
    *,
    site_id: str | None = None,
    status: str | None = None,
    version: str | None = None,
    serial: str | None = None,
) -> Select[tuple[Device]]:
    """The devices a release can go to, for the picker (paged by the caller)."""
    stmt = visible_devices(caller).where(
        Device.kind == release.device_kind, Device.model == release.model
    )
    if site_id:
        stmt = stmt.where(Device.site_id == site_id)
    if status:
        stmt = stmt.where(Device.status == status)
    if serial:
        stmt = stmt.where(Device.serial.contains(serial, autoescape=True))
    if version:
        stmt = stmt.where(
            Device.fw_arm.contains(version, autoescape=True)
            | Device.fw_dsp.contains(version, autoescape=True)
            | Device.fw_lcd.contains(version, autoescape=True)
        )
    return stmt.order_by(Device.serial)


def operate(session: Session, caller: Caller, task_id: str, op: str, now: datetime) -> FirmwareTask:
    """pause | resume | cancel, audited."""
    task = FirmwareRepository(session, caller).task(task_id, Action.UPDATE)
    repo = SqlFirmwareRepository(session)
    if op == "pause":
        uc.pause(repo, task.id)
    elif op == "resume":
        uc.resume(repo, task.id)
    elif op == "cancel":
        uc.cancel(repo, task.id, now)
    else:
        raise Invalid(_("unknown operation '%(op)s': pause, resume or cancel") % {"op": op})
    audit.record(
        session,
        actor=caller.user,
        action=f"firmware.task_{op}",
        object_type="firmware_task",
        object_id=task.id,
        org_id=task.org_id,
        address=caller.address,
    )
    session.flush()
    session.refresh(task)
    return task


def delete(session: Session, caller: Caller, task_id: str) -> None:
    task = FirmwareRepository(session, caller).task(task_id, Action.DELETE)
    uc.check_deletable(SqlFirmwareRepository(session), task.id)
    audit.record(
        session,
        actor=caller.user,
        action="firmware.task_deleted",
        object_type="firmware_task",
        object_id=task.id,
        org_id=task.org_id,
        address=caller.address,
    )
    session.execute(delete_runs(task.id))
    session.delete(task)
    session.flush()


def delete_runs(task_id: str) -> Delete:
    return sql_delete(FirmwareRun).where(FirmwareRun.task_id == task_id)


def reservation_shown(task: FirmwareTask) -> str:
    """The reservation for a page: on the site's clock with its offset, in the reader's date
    order and clock ("10.07.2031 00:00:00 +02:00"; "-" for now)."""
    return formatting.in_zone(task.start_at, task.zone, "seconds") if task.reserved else "-"


def reservation_text(task: FirmwareTask) -> str:
    """The reservation in the site's zone with its offset, as the API gives it: ISO order
    whatever the caller's language ("-" for now). Pages use ``reservation_shown``."""
    if not task.reserved:
        return "-"
    try:
        zone = ZoneInfo(task.zone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = task.start_at.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S %z")[:-2] + ":" + local.strftime("%z")[-2:]
