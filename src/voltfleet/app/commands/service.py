"""Commands: create (checked by domain.commands, audited), deliver to the gateway above the
device (HTTP poll or MQTT), take the gateway's reply, and let time expire what was not delivered.

Services never commit; the caller's unit of work does. Two deliverers racing for one command
(an HTTP poll and the MQTT bridge) cannot both send it: the queued -> sent step is one
conditional UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.commands.repository import CommandRepository
from voltfleet.app.commands.schemas import CommandIn, CommandOut, GatewayCommandOut
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.domain import commands as dc
from voltfleet.domain.access import Action
from voltfleet.domain.commands import CommandError, CommandRequest, CommandState
from voltfleet.store.command_models import Command
from voltfleet.store.db import utcnow
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Conflict, Invalid, NotFound, Rejected

HTTP, MQTT = "http", "mqtt"
MAX_PER_POLL = 50  # commands handed to a gateway in one answer
MAX_DEPTH = 8  # device tree levels searched for a gateway


def invalid(exc: CommandError) -> Rejected:
    errors = [{"field": exc.field, "message": str(exc)}]
    return Rejected(str(exc), errors, code="invalid_command")


def gateway_of(session: Session, device: Device) -> Device | None:
    """The gateway a device's commands go through: itself, or the nearest above it."""
    d: Device | None = device
    for _ in range(MAX_DEPTH):
        if d is None or d.deleted_at is not None:
            return None
        if d.kind == "gateway":
            return d
        d = session.get(Device, d.parent_id) if d.parent_id else None
    return None


def limits_of(device: Device) -> dc.DeviceLimits:
    rated = device.rated_power_w
    return dc.DeviceLimits(device.kind, rated if rated and rated > 0 else dc.DEFAULT_MAX_POWER_W)


def enqueue(
    session: Session,
    device: Device,
    request: CommandRequest,
    *,
    now: datetime,
    not_before: datetime | None = None,
    ttl: timedelta = dc.DEFAULT_TTL,
    source: str = "user",
    created_by: str | None = None,
) -> Command:
    """Queue a checked command for ``device`` (no permission check: callers do that)."""
    gateway = gateway_of(session, device)
    if gateway is None:
        raise Conflict(
            "the device has no gateway above it, so a command cannot reach it: bind it below a "
            "gateway first"
        )
    start = not_before or now
    row = Command(
        site_id=device.site_id,
        device_id=device.id,
        gateway_id=gateway.id,
        kind=request.kind.value,
        params=dict(request.params),
        state=CommandState.QUEUED.value,
        source=source,
        created_at=now,
        created_by=created_by,
        not_before=start,
        expires_at=start + ttl,
        message="",
    )
    session.add(row)
    session.flush()
    return row


def create(session: Session, caller: Caller, device_id: str, body: CommandIn) -> Command:
    """A person's command to a device (O&M and administrators of its organisation), audited."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    now = utcnow()
    if body.not_before is not None and body.not_before.tzinfo is None:
        raise Invalid("not_before needs a UTC offset, e.g. 2026-01-01T12:00:00Z")
    try:
        ttl = dc.check_ttl(timedelta(seconds=body.ttl_s))
        request = dc.validate(body.kind, body.params, limits_of(device))
    except (CommandError, OverflowError) as exc:
        if isinstance(exc, CommandError):
            raise invalid(exc) from exc
        raise Invalid("ttl_s is out of range") from exc
    if request.kind in dc.PLATFORM_ONLY:
        raise invalid(CommandError("firmware is installed through an upgrade task", "kind"))
    not_before = body.not_before
    if not_before is not None and not_before > now + dc.MAX_TTL:
        raise invalid(CommandError("not_before may be at most 2 days ahead", "not_before"))
    row = enqueue(
        session,
        device,
        request,
        now=now,
        not_before=not_before,
        ttl=ttl,
        created_by=caller.user.id,
    )
    site = session.get(Site, device.site_id)
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


def status_of(row: Command) -> dc.Status:
    return dc.Status(
        CommandState(row.state),
        row.not_before,
        row.expires_at,
        row.sent_at,
        row.replied_at,
        row.message,
    )


def _store(row: Command, st: dc.Status) -> None:
    row.state = st.state.value
    row.sent_at = st.sent_at
    row.replied_at = st.replied_at
    row.message = st.message


def sweep(
    session: Session,
    now: datetime,
    *,
    device_id: str | None = None,
    gateway_id: str | None = None,
    command_id: str | None = None,
) -> int:
    """Apply time to pending commands (domain.commands.swept): queued past expiry -> expired,
    sent without a reply past the reply deadline -> failed. Returns how many changed."""
    stmt = select(Command).where(
        Command.state.in_([CommandState.QUEUED.value, CommandState.SENT.value]),
        Command.expires_at <= now,
    )
    if device_id is not None:
        stmt = stmt.where(Command.device_id == device_id)
    if gateway_id is not None:
        stmt = stmt.where(Command.gateway_id == gateway_id)
    if command_id is not None:
        stmt = stmt.where(Command.id == command_id)
    changed = 0
    for row in session.scalars(stmt.limit(1000)):
        before = status_of(row)
        after = dc.swept(before, now)
        if after != before:
            _store(row, after)
            changed += 1
    if changed:
        session.flush()
    return changed


@dataclass(frozen=True)
class Delivery:
    command: Command
    device_serial: str

    def body(self) -> dict[str, Any]:
        return GatewayCommandOut(
            id=self.command.id,
            kind=self.command.kind,
            device=self.device_serial,
            params=self.command.params,
            expires_at=self.command.expires_at,
        ).model_dump(mode="json")


def claim(
    session: Session,
    gateway: Device,
    now: datetime,
    via: str,
    *,
    resend: bool = False,
) -> list[Delivery]:
    """The commands for ``gateway`` that are due now, marked sent (``via`` http or mqtt), oldest
    first. With ``resend``, commands already sent the same way and not yet answered (nor
    expired) are handed out again: a gateway whose answer got lost does not lose its commands,
    and recognises repeats by id."""
    sweep(session, now, gateway_id=gateway.id)
    due = [Command.state == CommandState.QUEUED.value]
    if resend:
        due.append((Command.state == CommandState.SENT.value) & (Command.sent_via == via))
    rows = session.scalars(
        select(Command)
        .where(
            Command.gateway_id == gateway.id,
            or_(*due),
            Command.not_before <= now,
            Command.expires_at > now,
        )
        .order_by(Command.not_before, Command.created_at, Command.id)
        .limit(MAX_PER_POLL)
    ).all()
    out: list[Delivery] = []
    serials: dict[str, str] = {}
    for row in rows:
        if row.state == CommandState.QUEUED.value:
            st = dc.sent(status_of(row), now)
            got = session.execute(
                update(Command)
                .where(Command.id == row.id, Command.state == CommandState.QUEUED.value)
                .values(state=st.state.value, sent_at=now, sent_via=via)
                .execution_options(synchronize_session=False)
            )
            if getattr(got, "rowcount", 0) != 1:
                continue  # another deliverer took it
            session.refresh(row)
        if row.device_id not in serials:
            dev = session.get(Device, row.device_id)
            serials[row.device_id] = dev.serial if dev is not None else ""
        out.append(Delivery(row, serials[row.device_id]))
    return out


def unclaim(session: Session, command_ids: list[str]) -> None:
    """Put commands whose sending failed (MQTT publish error) back in the queue."""
    if command_ids:
        session.execute(
            update(Command)
            .where(Command.id.in_(command_ids), Command.state == CommandState.SENT.value)
            .values(state=CommandState.QUEUED.value, sent_at=None, sent_via=None)
            .execution_options(synchronize_session=False)
        )


def record_reply(
    session: Session, gateway: Device, command_id: str, body: Any, now: datetime
) -> Command:
    """The gateway's answer to one of *its* commands (another's is 404). Sending the same
    answer again changes nothing; a different answer to a final command is 409."""
    row = session.scalar(
        select(Command).where(Command.id == command_id, Command.gateway_id == gateway.id)
    )
    if row is None:
        raise NotFound("command")
    try:
        ok, message, details = dc.parse_reply(body)
    except CommandError as exc:
        raise invalid(exc) from exc
    sweep(session, now, command_id=row.id)
    want = CommandState.ACKNOWLEDGED if ok else CommandState.FAILED
    if row.state == want.value and row.replied_at is not None:
        return row  # a repeat
    try:
        after = dc.replied(status_of(row), ok, message, now)
    except dc.TransitionError as exc:
        raise Conflict(f"{exc}: the reply came too late or twice") from exc
    _store(row, after)
    row.result = details or None
    if row.sent_via is None:
        row.sent_via = HTTP
    session.flush()
    return row


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


def get(session: Session, caller: Caller, command_id: str) -> Command:
    row = CommandRepository(session, caller).get(command_id)
    DeviceRepository(session, caller).get_for(row.device_id, Action.READ)
    if sweep(session, utcnow(), command_id=row.id):
        session.refresh(row)
    return row


# ---- MQTT delivery (used by protocols.mqtt.bridge) ----------------------------------------------


def claim_for_serials(
    session: Session, serials: set[str], now: datetime
) -> list[tuple[str, Delivery]]:
    """The due commands of the live gateways with these serial numbers (those connected to the
    broker), marked sent over MQTT: (gateway serial, delivery) pairs, oldest first per gateway."""
    if not serials:
        return []
    gateways = session.scalars(
        select(Device).where(
            Device.serial.in_(sorted(serials)),
            Device.kind == "gateway",
            Device.deleted_at.is_(None),
        )
    ).all()
    out: list[tuple[str, Delivery]] = []
    for gw in gateways:
        out += [(gw.serial, d) for d in claim(session, gw, now, MQTT)]
    return out


def mqtt_reply(
    session: Session, gateway: Device, command_id: str, body: Any, now: datetime
) -> str | None:
    """A reply that came over MQTT; the reason when it was refused (unknown command, another
    gateway's, unreadable, too late), None when recorded."""
    try:
        record_reply(session, gateway, command_id, body, now)
    except (NotFound, Invalid, Conflict) as exc:
        return exc.message
    return None
