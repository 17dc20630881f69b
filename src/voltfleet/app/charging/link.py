"""The platform's side of one charger connection (protocols.ocpp.central16.ChargerLink).

Each message is one unit of work on the database, run in the thread pool (the store is
synchronous) and committed before the handler answers the charger: an acknowledged message is a
stored one. A database failure becomes an OCPP CallError, and the charger sends again.

Every unit first checks that the charger is still on the platform and that the credential its
connection was opened with is still valid: a removed charger, or one whose token was rotated,
gets a SecurityError and its connection is closed (``on_gone``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from ocpp.exceptions import SecurityError  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from voltfleet.app.charging import card_later, departure_defaults, id_tags, service
from voltfleet.app.charging.alarm_hooks import charger_fault_cleared, charger_fault_raised
from voltfleet.app.charging.presence_batch import presence_batch
from voltfleet.app.firmware import chargers as charger_firmware
from voltfleet.app.power.ev_modes import departure_from_car
from voltfleet.app.runtime import Runtime
from voltfleet.domain.telemetry.quarantine import IncomingReading
from voltfleet.protocols.ocpp.messages import ChargingNeeds
from voltfleet.store.charging_repository import SqlChargingRepository
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import DeviceCredential
from voltfleet.usecases import charging
from voltfleet.usecases.charging import (
    BootInfo,
    CardVerdict,
    MeterReport,
    StartRequest,
    StatusReport,
    StopRequest,
)

T = TypeVar("T")

REMOVED = "charger removed from the platform"
REVOKED = "credential revoked: connect again with the charger's new token"


# The credential of a connection opened with a client certificate (security profile 3).
CERTIFICATE = "certificate"


class CredentialRevoked(Exception):
    """The token the connection was opened with was rotated or revoked."""


def credential_id_for(session: Session, device_id: str, token_hash: str) -> str | None:
    """The live credential of ``device_id`` with this token hash (the one a charger signed in
    with), or None."""
    return session.scalar(
        select(DeviceCredential.id).where(
            DeviceCredential.device_id == device_id,
            DeviceCredential.token_hash == token_hash,
            DeviceCredential.revoked_at.is_(None),
        )
    )


def _credential_live(session: Session, credential_id: str) -> bool:
    cred = session.get(DeviceCredential, credential_id)
    return cred is not None and cred.revoked_at is None


def _revoked(runtime: Runtime, opened: dict[str, str]) -> dict[str, str]:
    with runtime.db.session() as s:
        live_creds = set(
            s.scalars(
                select(DeviceCredential.id).where(
                    DeviceCredential.id.in_(list(opened.values())),
                    DeviceCredential.revoked_at.is_(None),
                )
            )
        )
        live_devices = set(
            s.scalars(
                select(Device.id).where(Device.id.in_(list(opened)), Device.deleted_at.is_(None))
            )
        )
    ended = {}
    for device_id, credential_id in opened.items():
        if device_id not in live_devices:
            ended[device_id] = REMOVED
        elif credential_id == CERTIFICATE:
            continue  # profile 3: the TLS handshake was the credential
        elif credential_id not in live_creds:
            ended[device_id] = REVOKED
    return ended


async def revoked_credentials(runtime: Runtime, opened: dict[str, str]) -> dict[str, str]:
    """Of ``{device id: credential id}``, those whose device was removed or whose credential was
    revoked, with the reason."""
    return await run_in_threadpool(_revoked, runtime, opened)


def repository(runtime: Runtime, session: Session) -> SqlChargingRepository:
    """The charging use case's repository on ``session``, with the platform's ingest and alarm
    pipelines."""

    def ingest(s: Session, device: Device, readings: Sequence[IncomingReading]) -> int:
        return len(runtime.ingest(s, device, readings).rejections)

    def raised(s: Session, device: Device, report: StatusReport, now: datetime) -> None:
        charger_fault_raised(
            s,
            device,
            connector_id=report.connector_id,
            error_code=report.error_code,
            alarm_code=report.alarm_code,
            info=report.info or "",
            vendor_error_code=report.vendor_error_code or "",
            at=report.timestamp or now,
            now=now,
        )

    def cleared(s: Session, device: Device, connector_id: int, at: datetime, now: datetime) -> None:
        charger_fault_cleared(s, device, connector_id=connector_id, at=at, now=now)

    return SqlChargingRepository(session, ingest, raised, cleared)


def mark_offline(runtime: Runtime, device_id: str) -> None:
    """The charger's connection ended (its own unit of work, with its last heartbeat not yet
    written: ``presence_batch``)."""
    batch = presence_batch(runtime)
    heard = batch.take(device_id)
    try:
        with runtime.db.session() as s:
            device = s.get(Device, device_id)
            if device is not None and device.deleted_at is None:
                if heard is not None and (device.last_seen is None or device.last_seen < heard):
                    device.last_seen = heard
                charging.mark_offline(repository(runtime, s), device, now=runtime.clock.now())
    except Exception:
        if heard is not None:
            batch.seen(device_id, heard)  # written by the next flush instead
        raise


def _booted(repo: SqlChargingRepository, device: Device, version: str, *, now: datetime) -> None:
    charger_firmware.booted(repo.session, device, version[:40], now)


def _firmware_status(
    repo: SqlChargingRepository,
    device: Device,
    status: str,
    request_id: int | None,
    *,
    now: datetime,
) -> None:
    charger_firmware.status_report(repo.session, device, status, request_id, now)


def _checked(_repo: SqlChargingRepository, _device: Device, *, now: datetime) -> datetime:
    """A unit of work that only checks the charger (``AppChargerLink._unit``); writes nothing."""
    return now


class AppChargerLink:
    def __init__(
        self,
        runtime: Runtime,
        device_id: str,
        credential_id: str,
        on_gone: Callable[[str], Awaitable[None]],
    ) -> None:
        self.runtime = runtime
        self.device_id = device_id
        self.credential_id = credential_id
        self.on_gone = on_gone  # ends the connection (with the reason) of a charger gone

    def _unit(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(repository, charger, *args, now=...)`` in one unit of work (committed when it
        ends without error)."""
        with self.runtime.db.session() as s:
            device = service.live_charger(s, self.device_id)
            if self.credential_id != CERTIFICATE and not _credential_live(s, self.credential_id):
                raise CredentialRevoked(self.credential_id)
            return fn(repository(self.runtime, s), device, *args, now=self.runtime.clock.now())

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await run_in_threadpool(self._unit, fn, *args)
        except service.ChargerGone:
            await self.on_gone(REMOVED)
            raise SecurityError(
                details={"cause": "this charger is no longer bound to a site on the platform"}
            ) from None
        except CredentialRevoked:
            await self.on_gone(REVOKED)
            raise SecurityError(details={"cause": REVOKED}) from None

    async def boot(self, info: BootInfo) -> int:
        await self._run(charging.boot, info)
        if info.firmware:  # a charger upgrading settles its run when it boots (firmware)
            await self._run(_booted, info.firmware)
        return self.runtime.settings.ocpp_heartbeat_s

    async def firmware_status(self, status: str, request_id: int | None) -> None:
        await self._run(_firmware_status, status, request_id)

    async def heartbeat(self) -> None:
        """Checked (the charger is still bound, its credential valid) but not written: noted
        for the next batch of presence writes (``presence_batch``)."""
        now = await self._run(_checked)
        presence_batch(self.runtime).seen(self.device_id, now)

    async def status(self, report: StatusReport) -> None:
        await self._run(charging.status, report)

    async def authorize(self, id_tag: str) -> CardVerdict:
        """Accepted when the tag is an active id tag of the charger's site, or the site keeps no
        list of tags (a home charger's owner plugs in their own car); blocked when an installer
        switched the tag off; unknown when the site's list does not have it."""

        def judge(repo: SqlChargingRepository, device: Device, *, now: datetime) -> CardVerdict:
            return id_tags.verdict(repo.session, device, id_tag, now=now)

        return await self._run(judge)

    async def start_transaction(self, request: StartRequest) -> int:
        """A new session, with its tag's or connector's default departure (departure_defaults)."""

        def start(repo: SqlChargingRepository, device: Device, *, now: datetime) -> int:
            tx = charging.start_transaction(repo, device, request, now=now)
            departure_defaults.apply_at_start(repo.session, device, request, now)
            return tx

        return await self._run(start)

    async def card_later(self, connector_id: int, transaction_ref: str, id_tag: str) -> bool:
        """An accepted card shown after the start (2.0.1 TransactionEvent Updated): on the
        session, with its default departure (card_later)."""

        def take(repo: SqlChargingRepository, device: Device, *, now: datetime) -> bool:
            return card_later.card_arrived(
                repo.session, device, connector_id, transaction_ref, id_tag, now
            )

        return await self._run(take)

    async def meter_values(
        self,
        connector_id: int,
        transaction_id: int | None,
        report: MeterReport,
        transaction_ref: str | None = None,
    ) -> None:
        await self._run(
            charging.meter_values, connector_id, transaction_id, report, transaction_ref
        )

    async def stop_transaction(self, request: StopRequest) -> None:
        await self._run(charging.stop_transaction, request)

    async def charging_needs(self, needs: ChargingNeeds) -> bool:
        """A car's departure and energy need (2.0.1) on its running session (ev_modes)."""

        def take(repo: SqlChargingRepository, device: Device, *, now: datetime) -> bool:
            return departure_from_car(repo.session, device, needs, now)

        return await self._run(take)
