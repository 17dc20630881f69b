"""Firmware for chargers, over OCPP (issue 16).

Delivery: a charger in a task gets OCPP UpdateFirmware through the platform's ``ChargerLink``
(the process holding its socket, or through the relay between processes): 1.6 with the file's
``location``, ``retrieveDate``, ``retries`` and ``retryInterval``; 2.0.1 with a ``requestId`` and
``firmware {location, retrieveDateTime, signature}`` when the release is signed. The location is
the release's short-lived signed link (``signing.download_url``), fetched without a session.

Progress: the charger's FirmwareStatusNotifications move its run (``domain.firmware.
charger_progress`` says how); its next BootNotification's ``firmwareVersion`` settles it. A 2.0.1
status about another request than the run's is left alone. The run keeps ``ocpp:<requestId>``
as its command id (no command row: a charger is called directly, not through a gateway).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.firmware.campaign import ACTIVE, RunState
from voltfleet.domain.firmware.charger_progress import confirms, progress_of
from voltfleet.ports import ChargerLink
from voltfleet.store.firmware_models import FirmwareRelease, FirmwareRun, FirmwareTask
from voltfleet.store.firmware_repository import SqlFirmwareRepository
from voltfleet.store.fleet_models import Device
from voltfleet.usecases import firmware as uc
from voltfleet.usecases.errors import AppError

log = logging.getLogger("voltfleet.firmware")
T = TypeVar("T")

COMMAND_PREFIX = "ocpp:"
RETRIES = 3  # the charger's own download retries ...
RETRY_INTERVAL_S = 60  # ... this far apart
ACCEPTED = ("Accepted", "AcceptedCanceled")


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end from synchronous code (a job's thread, or a thread whose loop
    is running: then in a thread of its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class ChargerSender:
    """Sends UpdateFirmware to chargers; ``refusals`` says why a charger was not reached."""

    def __init__(self, link: ChargerLink | None) -> None:
        self.link = link
        self.refusals: dict[str, str] = {}

    def send(
        self,
        session: Session,
        chargers: Sequence[Device],
        target: uc.Target,
        url: str,
        now: datetime,
    ) -> dict[str, str]:
        """UpdateFirmware to each charger: ``ocpp:<requestId>`` by device id for the chargers
        that accepted it."""
        release = session.get(FirmwareRelease, target.release_id)
        signature = release.signature if release is not None else None
        link = self.link
        if link is None:
            for d in chargers:
                self.refusals[d.id] = "chargers are not reachable from this process"
            return {}

        async def one(device: Device) -> tuple[str, str | None, str]:
            request_id = 1 + secrets.randbelow(2**31 - 2)
            params: dict[str, Any] = {
                "location": url,
                "retrieve_date": _iso(now),
                "retries": RETRIES,
                "retry_interval": RETRY_INTERVAL_S,
                "request_id": request_id,
            }
            if signature:
                params["signature"] = signature
            try:
                answer = await link.remote(device.serial, "update_firmware", params)
            except AppError as exc:
                return device.id, None, exc.message
            except Exception as exc:  # the charger did not answer, or its socket ended
                return device.id, None, str(exc) or type(exc).__name__
            status = str(answer.get("status", "Accepted"))
            if status not in ACCEPTED:
                return device.id, None, f"the charger answered UpdateFirmware with {status}"
            return device.id, f"{COMMAND_PREFIX}{request_id}", ""

        async def all_of() -> list[tuple[str, str | None, str]]:
            return list(await asyncio.gather(*(one(d) for d in chargers)))

        out: dict[str, str] = {}
        for device_id, command_id, why in run_sync(all_of):
            if command_id is None:
                self.refusals[device_id] = why or "the charger is not connected"
                log.info("firmware: charger %s not reached: %s", device_id, why)
            else:
                out[device_id] = command_id
        return out


def _active_run(session: Session, device_id: str) -> tuple[FirmwareRun, FirmwareTask] | None:
    row = session.execute(
        select(FirmwareRun, FirmwareTask)
        .join(FirmwareTask, FirmwareTask.id == FirmwareRun.task_id)
        .where(FirmwareRun.device_id == device_id, FirmwareRun.state.in_(ACTIVE))
        .order_by(FirmwareRun.started_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def status_report(
    session: Session, device: Device, status: str, request_id: int | None, now: datetime
) -> str | None:
    """A charger's FirmwareStatusNotification: the task it moved, or None."""
    try:
        progress = progress_of(status)
    except ValueError:  # the schema let it through: a newer OCPP word; logged, not refused
        log.info("firmware: charger %s sent firmware status %r", device.serial, status[:40])
        return None
    found = _active_run(session, device.id)
    if progress is None or found is None:
        return None
    run, task = found
    if request_id is not None and run.command_id != f"{COMMAND_PREFIX}{request_id}":
        return None  # about an update the campaign did not send
    return uc.report_progress(
        SqlFirmwareRepository(session),
        device.id,
        task.release_id,
        progress.state,
        "",
        progress.message,
        now,
        firmware_type=task.firmware_type,
    )


def booted(session: Session, device: Device, version: str, now: datetime) -> str | None:
    """A charger's BootNotification named ``version``: settles its run when it boots on the
    target, or after it rebooted to install (``charger_progress.confirms``)."""
    found = _active_run(session, device.id)
    if found is None:
        return None
    run, task = found
    release = session.get(FirmwareRelease, task.release_id)
    if release is None or not confirms(RunState(run.state), version, release.version):
        return None
    return uc.report_progress(
        SqlFirmwareRepository(session),
        device.id,
        task.release_id,
        "running",
        version,
        "booted on the new firmware" if version == release.version else "",
        now,
        firmware_type=task.firmware_type,
    )
