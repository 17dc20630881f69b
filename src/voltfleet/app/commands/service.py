"""Commands at the HTTP edge: what a person asks (checked against the caller's scope, audited)
turned into the commands use case (usecases/commands.py), and the answer's shape.

Everything else (delivery, replies, time) is the use case's, called directly by the endpoints,
the MQTT adapter, the battery plan and the command-sweeper job. Services never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.commands.repository import CommandRepository
from voltfleet.app.commands.schemas import CommandIn, CommandOut, GatewayCommandOut
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.domain import autotest
from voltfleet.domain import commands as dc
from voltfleet.domain.access import Action
from voltfleet.domain.commands import CommandError, CommandRequest
from voltfleet.store.command_models import Command
from voltfleet.store.command_repository import SqlCommandRepository
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases import commands as uc
from voltfleet.usecases.errors import Invalid


def repo(session: Session) -> SqlCommandRepository:
    return SqlCommandRepository(session)


def create(
    session: Session, caller: Caller, device_id: str, body: CommandIn, *, now: datetime
) -> Command:
    """A person's command to a device (O&M and administrators of its organisation), audited."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    if body.not_before is not None and body.not_before.tzinfo is None:
        raise Invalid("not_before needs a UTC offset, e.g. 2026-01-01T12:00:00Z")
    try:
        ttl = timedelta(seconds=body.ttl_s)
    except OverflowError as exc:
        raise Invalid("ttl_s is out of range") from exc
    if body.kind == dc.CommandKind.LIVE_DATA.value:
        raise uc.rejected(
            CommandError(
                "live_data follows the device's live-data switch (live_data_enabled)", "kind"
            )
        )
    if body.kind in {k.value for k in dc.PLATFORM_ONLY}:
        raise uc.rejected(CommandError("firmware is installed through an upgrade task", "kind"))
    site = session.get(Site, device.site_id)
    if body.kind == dc.CommandKind.AUTOTEST.value and not (
        site is not None and autotest.available_in(site.country)
    ):  # the API and the AutoTest page alike
        country = site.country if site else "?"
        raise uc.rejected(
            CommandError(
                f"AutoTest is only available for sites in Italy (this site: {country})", "kind"
            )
        )
    row = uc.queue(
        repo(session),
        device.id,
        body.kind,
        body.params,
        now=now,
        ttl=ttl,
        not_before=body.not_before,
        created_by=caller.user.id,
    )
    assert isinstance(row, Command)
    audit.record(
        session,
        actor=caller.user,
        action="command.created",
        object_type="command",
        object_id=row.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail={"device_id": device.id, "kind": row.kind, "params": row.params},
    )
    return row


def sweep(session: Session, now: datetime, *, device_id: str) -> int:
    return uc.sweep(repo(session), now, device_id=device_id)


def wire_body(d: uc.Delivery) -> dict[str, object]:
    """A command as its gateway receives it (HTTP poll and MQTT alike)."""
    c = d.command
    return GatewayCommandOut(
        id=c.id, kind=c.kind, device=d.device_serial, params=c.params, expires_at=c.expires_at
    ).model_dump(mode="json")


def to_out(row: Command) -> CommandOut:
    return CommandOut(
        id=row.id,
        device_id=row.device_id,
        site_id=row.site_id,
        kind=row.kind,
        params=row.params,
        state=row.state,
        source=row.source,
        created_at=row.created_at,
        created_by=row.created_by,
        not_before=row.not_before,
        expires_at=row.expires_at,
        sent_at=row.sent_at,
        sent_via=row.sent_via,
        replied_at=row.replied_at,
        result=row.result,
        message=row.message,
    )


def get(session: Session, caller: Caller, command_id: str, *, now: datetime) -> Command:
    row = CommandRepository(session, caller).get(command_id)
    DeviceRepository(session, caller).get_for(row.device_id, Action.READ)
    if uc.sweep(repo(session), now, command_id=row.id):
        session.refresh(row)
    return row


def enqueue(
    session: Session,
    device: Device,
    request: CommandRequest,
    *,
    now: datetime,
    ttl: timedelta,
    source: str,
    not_before: datetime | None = None,
    created_by: str | None = None,
) -> Command:
    """Queue a command the platform made and checked itself (upgrade campaigns: firmware
    delivery); ``Conflict`` when no gateway is above the device."""
    r = repo(session)
    row = uc.queue_checked(
        r,
        uc.target_of(r, device.id),
        request,
        now=now,
        not_before=not_before,
        ttl=ttl,
        source=source,
        created_by=created_by,
    )
    assert isinstance(row, Command)
    return row
