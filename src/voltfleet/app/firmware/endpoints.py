"""Firmware over HTTP: releases (O&M engineers and administrators upload and download; owners
never see them), upgrade tasks, each device's upgrade history, the gateways' signed download
links and their progress reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.deps import CallerDep, DbSession, NowDep, RuntimeDep
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.firmware import progress, releases, signing, tasks
from voltfleet.app.firmware.jobs import defer_step
from voltfleet.app.firmware.repository import FirmwareRepository
from voltfleet.app.firmware.schemas import (
    CandidateOut,
    DeviceFirmwareOut,
    FirmwareStatusIn,
    FirmwareStatusOut,
    HistoryOut,
    ReleaseOut,
    RunOut,
    TaskDetailOut,
    TaskIn,
    TaskOut,
    TaskStatsOut,
)
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry.service import gateway_for_token
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.firmware import releases as fr
from voltfleet.store.command_repository import gateway_of
from voltfleet.store.firmware_models import DeviceFirmware, FirmwareRelease, FirmwareTask
from voltfleet.store.firmware_repository import current_version
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.errors import NotFound

router = APIRouter(tags=["firmware"])
KindFilter = Literal["gateway", "inverter", "charger"]


def release_out(v: releases.ReleaseView) -> ReleaseOut:
    r = v.row
    return ReleaseOut(
        id=r.id,
        device_kind=r.device_kind,
        model=r.model,
        firmware_type=r.firmware_type,
        firmware_type_label=fr.label(r.firmware_type),
        version=r.version,
        description=r.description,
        file_name=r.file_name,
        size_bytes=r.size_bytes,
        sha256=r.sha256,
        signed=r.signed,
        new=v.new,
        devices_running=v.devices,
        created_at=r.created_at,
        creator=r.creator_name,
    )


def task_out(task: FirmwareTask, stats: tasks.TaskStats) -> TaskOut:
    return TaskOut(
        id=task.id,
        number=task.number,
        creator=task.creator_name,
        device_kind=task.device_kind,
        firmware_type=task.firmware_type,
        model=task.model,
        version=task.version,
        release_id=task.release_id,
        state=task.state,
        reason=task.reason,
        reserved=task.reserved,
        start_at=task.start_at,
        reservation=tasks.reservation_text(task),
        stats=TaskStatsOut(**stats.__dict__),
        policy=dict(task.policy),
        created_at=task.created_at,
    )


def task_detail(session: Session, task: FirmwareTask) -> TaskDetailOut:
    stats = tasks.stats_of(session, [task.id])[task.id]
    runs = [
        RunOut(
            device_id=d.id,
            serial=d.serial,
            site_id=d.site_id,
            wave=r.wave,
            state=r.state,
            from_version=r.from_version,
            started_at=r.started_at,
            updated_at=r.updated_at,
            message=r.message,
        )
        for r, d in tasks.runs_of(session, task)
    ]
    return TaskDetailOut(**task_out(task, stats).model_dump(), runs=runs)


# ---- releases -----------------------------------------------------------------------------------


@router.get(
    "/api/v1/firmware/releases",
    response_model=list[ReleaseOut],
    summary="Firmware releases, newest first, with the NEW mark and upgrade statistics",
)
def list_releases(
    session: DbSession,
    caller: CallerDep,
    device_kind: Annotated[KindFilter | None, Query()] = None,
    model: Annotated[str | None, Query(max_length=100)] = None,
    version: Annotated[str | None, Query(max_length=40)] = None,
    firmware_type: Annotated[str | None, Query(max_length=48)] = None,
) -> list[ReleaseOut]:
    views = releases.listing(
        session,
        caller,
        device_kind=device_kind,
        model=model,
        version=version,
        firmware_type=firmware_type,
    )
    return [release_out(v) for v in views]


@router.post(
    "/api/v1/firmware/releases",
    response_model=ReleaseOut,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a firmware release (O&M engineers and administrators)",
)
def upload_release(
    session: DbSession,
    caller: CallerDep,
    runtime: RuntimeDep,
    now: NowDep,
    file: Annotated[UploadFile, File(description="the firmware file")],
    model: Annotated[str, Form(max_length=100)],
    firmware_type: Annotated[
        str,
        Form(
            max_length=48,
            description="gateway, lcd, dsp, secondary_dsp, trip_board, exhmi, arc, bms or "
            "vendor_<name>",
        ),
    ],
    version: Annotated[str, Form(max_length=40)],
    description: Annotated[str, Form(max_length=2000)] = "",
    signature: Annotated[
        str, Form(max_length=200, description="Ed25519 signature of the file (base64 or hex)")
    ] = "",
) -> ReleaseOut:
    """The file's SHA-256 is stored and sent to devices; where the platform has a signing key
    (``VOLTFLEET_FIRMWARE_SIGNING_KEY``) the signature must verify or the release is refused
    (422, with the reason)."""
    limit = min(fr.MAX_FILE_BYTES, runtime.settings.max_request_body_bytes)
    data = file.file.read(limit + 1)
    row = releases.upload(
        session,
        caller,
        releases.Upload(
            model=model,
            firmware_type=firmware_type.strip().lower(),
            version=version,
            description=description,
            file_name=file.filename or "",
            content=data,
            signature=signature,
        ),
        signing_key=signing.public_key(runtime.settings.firmware_signing_key),
        now=now,
        max_bytes=limit,
    )
    return release_out(releases.view(session, caller, row.id))


@router.get(
    "/api/v1/firmware/releases/{release_id}", response_model=ReleaseOut, summary="One release"
)
def get_release(session: DbSession, caller: CallerDep, release_id: str) -> ReleaseOut:
    return release_out(releases.view(session, caller, release_id))


@router.get(
    "/api/v1/firmware/releases/{release_id}/file",
    response_class=Response,
    summary="Download a release's file",
)
def download_release(session: DbSession, caller: CallerDep, release_id: str) -> Response:
    row = FirmwareRepository(session, caller).release(release_id)
    return file_response(session, row)


def file_response(session: Session, row: FirmwareRelease) -> Response:
    name = row.file_name.replace('"', "").replace("\\", "") or "firmware.bin"
    return Response(
        releases.content(session, row.id),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-SHA256": row.sha256,
        },
    )


@router.get(
    "/api/v1/firmware/releases/{release_id}/candidates",
    response_model=Page[CandidateOut],
    summary="The devices a release can go to (the task's device picker), paged with filters",
)
def release_candidates(
    session: DbSession,
    caller: CallerDep,
    release_id: str,
    paging: Paging,
    site_id: Annotated[str | None, Query(max_length=36)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=10)] = None,
    version: Annotated[str | None, Query(max_length=40)] = None,
    serial: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[CandidateOut]:
    release = FirmwareRepository(session, caller).release(release_id)
    stmt = tasks.candidates(
        session, caller, release, site_id=site_id, status=status_, version=version, serial=serial
    )
    rows, total = paginate(session, stmt, paging)
    items = [
        CandidateOut(
            id=d.id,
            serial=d.serial,
            site_id=d.site_id,
            status=d.status,
            model=d.model,
            version=current_version(session, d, release.firmware_type),
        )
        for d in rows
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get(
    "/api/v1/firmware/files/{release_id}",
    response_class=Response,
    summary="A gateway fetches a release's file with the short-lived link of its command",
    responses={403: {"description": "The link is not valid, or it has expired."}},
)
def fetch_file(
    session: DbSession,
    runtime: RuntimeDep,
    now: NowDep,
    release_id: str,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    sig: Annotated[str, Query(max_length=64)],
) -> Response:
    """No token: the link carries its own signature and expiry (``firmware_update`` command
    params ``url``). Check the file's SHA-256 (``sha256``) before installing."""
    signing.check_link(runtime.settings.secret_key, release_id, expires, sig, now)
    row = session.get(FirmwareRelease, release_id)
    if row is None:
        raise NotFound("firmware release")
    return file_response(session, row)


# ---- tasks --------------------------------------------------------------------------------------


@router.post(
    "/api/v1/firmware/tasks",
    response_model=TaskDetailOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an upgrade task (campaign) now or at a reserved time",
)
def create_task(
    session: DbSession, caller: CallerDep, runtime: RuntimeDep, now: NowDep, body: TaskIn
) -> TaskDetailOut:
    """Devices go in waves (``policy``); the campaign pauses by itself at its error threshold.
    A release older than what a device runs is refused (409 ``downgrade_needs_confirmation``)
    unless ``confirm_downgrade``."""
    task = tasks.create(
        session,
        caller,
        tasks.NewTask(
            release_id=body.release_id,
            device_ids=body.device_ids,
            start_at=body.start_at,
            policy=body.policy.model_dump(exclude_none=True),
            confirm_downgrade=body.confirm_downgrade,
        ),
        now,
    )
    out = task_detail(session, task)
    session.commit()  # the job may run at once, in another thread: it must find the task
    schedule(runtime, task, now)
    return out


def schedule(runtime: Runtime, task: FirmwareTask, now: datetime) -> None:
    """The task's next step: at its start (each step then defers the next)."""
    defer_step(runtime.jobs, task.id, max(task.start_at, now))


@router.get(
    "/api/v1/firmware/tasks",
    response_model=Page[TaskOut],
    summary="Upgrade tasks, newest first, with their statistics",
)
def list_tasks(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    device_kind: Annotated[KindFilter | None, Query()] = None,
    model: Annotated[str | None, Query(max_length=100)] = None,
    version: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[TaskOut]:
    stmt = tasks.query(caller, device_kind=device_kind, model=model, version=version)
    rows, total = paginate(session, stmt, paging)
    stats = tasks.stats_of(session, [t.id for t in rows])
    return Page(
        items=[task_out(t, stats[t.id]) for t in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get(
    "/api/v1/firmware/tasks/{task_id}",
    response_model=TaskDetailOut,
    summary="One task with each device's progress",
)
def get_task(session: DbSession, caller: CallerDep, task_id: str) -> TaskDetailOut:
    return task_detail(session, FirmwareRepository(session, caller).task(task_id))


def _operate(
    op: str, session: Session, caller: CallerDep, task_id: str, now: NowDep
) -> TaskDetailOut:
    return task_detail(session, tasks.operate(session, caller, task_id, op, now))


@router.post(
    "/api/v1/firmware/tasks/{task_id}/pause",
    response_model=TaskDetailOut,
    summary="Pause a task: no device starts until it is resumed",
)
def pause_task(session: DbSession, caller: CallerDep, task_id: str, now: NowDep) -> TaskDetailOut:
    return _operate("pause", session, caller, task_id, now)


@router.post(
    "/api/v1/firmware/tasks/{task_id}/resume",
    response_model=TaskDetailOut,
    summary="Resume a paused task (the failures so far are accepted)",
)
def resume_task(
    session: DbSession, caller: CallerDep, runtime: RuntimeDep, task_id: str, now: NowDep
) -> TaskDetailOut:
    out = _operate("resume", session, caller, task_id, now)
    session.commit()
    defer_step(runtime.jobs, task_id, now)
    return out


@router.post(
    "/api/v1/firmware/tasks/{task_id}/cancel",
    response_model=TaskDetailOut,
    summary="Cancel a task: devices not yet started are skipped",
)
def cancel_task(session: DbSession, caller: CallerDep, task_id: str, now: NowDep) -> TaskDetailOut:
    return _operate("cancel", session, caller, task_id, now)


@router.delete(
    "/api/v1/firmware/tasks/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a task that has not started",
)
def delete_task(session: DbSession, caller: CallerDep, task_id: str) -> None:
    tasks.delete(session, caller, task_id)


# ---- devices ------------------------------------------------------------------------------------


@router.get(
    "/api/v1/devices/{device_id}/firmware",
    response_model=DeviceFirmwareOut,
    summary="A device's firmware versions and upgrade history (its Upgrade tab)",
)
def device_firmware(session: DbSession, caller: CallerDep, device_id: str) -> DeviceFirmwareOut:
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    caller.require(Kind.FIRMWARE, Action.READ)  # the installers' business, not the owner's
    return device_firmware_out(session, device)


def device_firmware_out(session: Session, device: Device) -> DeviceFirmwareOut:
    versions = dict(
        session.execute(
            select(DeviceFirmware.firmware_type, DeviceFirmware.version).where(
                DeviceFirmware.device_id == device.id
            )
        ).all()
    )
    gw = gateway_of(session, device)
    history = [
        HistoryOut(
            task_id=t.id,
            number=t.number,
            created_at=r.started_at or t.created_at,
            firmware_type=t.firmware_type,
            version=t.version,
            from_version=r.from_version,
            state=r.state,
            message=r.message,
            creator=t.creator_name,
            gateway_serial=gw.serial if gw else "",
            address=device.comm_address,
        )
        for r, t in tasks.device_history(session, device)
    ]
    return DeviceFirmwareOut(versions=versions, history=history)


# ---- gateways -----------------------------------------------------------------------------------


@router.post(
    "/api/v1/gateway/firmware-status",
    response_model=FirmwareStatusOut,
    summary="The calling gateway reports a device's firmware progress (gateway token)",
)
def firmware_status(
    session: DbSession,
    now: NowDep,
    body: FirmwareStatusIn,
    authorization: Annotated[str | None, Header()] = None,
) -> FirmwareStatusOut:
    """The same body as MQTT ``voltfleet/v1/<gateway>/firmware``: ``{"device", "release_id",
    "state": "downloading" | "installing" | "rebooting" | "running" | "failed", "version",
    "message"}``. ``running`` with the new version is success."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    gateway = gateway_for_token(session, token)
    task_id = progress.record(session, gateway, body.model_dump(), now)
    return FirmwareStatusOut(task_id=task_id)
