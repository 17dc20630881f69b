"""The commands' persistence (usecases.commands.CommandRepository) on SQLAlchemy. Joins the
caller's session; never commits. Two deliverers racing for one command (an HTTP poll and the MQTT
bridge) cannot both send it: the queued -> sent step is one conditional UPDATE."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from voltfleet.domain import commands as dc
from voltfleet.domain.commands import CommandState
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import AuditEntry, Site, User
from voltfleet.usecases.commands import CommandLike, NewCommand, Target

MAX_DEPTH = 8  # device tree levels searched for a gateway
PENDING = [CommandState.QUEUED.value, CommandState.SENT.value]


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


def target_of(session: Session, device: Device) -> Target:
    gateway = gateway_of(session, device)
    return Target(
        device.id,
        device.site_id,
        device.kind,
        device.serial,
        device.model,
        device.rated_power_w,
        gateway.id if gateway is not None else None,
    )


class SqlCommandRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def target(self, device_id: str) -> Target | None:
        device = self.session.get(Device, device_id)
        if device is None or device.deleted_at is not None:
            return None
        return target_of(self.session, device)

    def add(self, new: NewCommand) -> Command:
        row = Command(
            site_id=new.target.site_id,
            device_id=new.target.device_id,
            gateway_id=new.target.gateway_id,
            kind=new.request.kind.value,
            params=dict(new.request.params),
            state=new.state.value,
            source=new.source,
            created_at=new.created_at,
            created_by=new.created_by,
            not_before=new.not_before,
            expires_at=new.expires_at,
            message="",
        )
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, command_id: str, gateway_id: str | None = None) -> Command | None:
        stmt = select(Command).where(Command.id == command_id)
        if gateway_id is not None:
            stmt = stmt.where(Command.gateway_id == gateway_id)
        return self.session.scalar(stmt)

    def expiring(
        self,
        now: datetime,
        *,
        device_id: str | None = None,
        gateway_id: str | None = None,
        command_id: str | None = None,
        limit: int = 1000,
    ) -> Sequence[Command]:
        stmt = select(Command).where(Command.state.in_(PENDING), Command.expires_at <= now)
        if device_id is not None:
            stmt = stmt.where(Command.device_id == device_id)
        if gateway_id is not None:
            stmt = stmt.where(Command.gateway_id == gateway_id)
        if command_id is not None:
            stmt = stmt.where(Command.id == command_id)
        return self.session.scalars(stmt.limit(limit)).all()

    def save(
        self,
        command: CommandLike,
        status: dc.Status,
        *,
        result: Mapping[str, Any] | None = None,
        sent_via: str | None = None,
    ) -> None:
        assert isinstance(command, Command)
        command.state = status.state.value
        command.sent_at = status.sent_at
        command.replied_at = status.replied_at
        command.message = status.message
        if result is not None or status.replied_at is not None:
            command.result = dict(result) if result else None
        if sent_via is not None:
            command.sent_via = sent_via
        self.session.flush()

    def due(
        self, gateway_id: str, now: datetime, *, resend_via: str | None, limit: int
    ) -> Sequence[Command]:
        due = [Command.state == CommandState.QUEUED.value]
        if resend_via is not None:
            due.append(
                (Command.state == CommandState.SENT.value) & (Command.sent_via == resend_via)
            )
        return self.session.scalars(
            select(Command)
            .where(
                Command.gateway_id == gateway_id,
                or_(*due),
                Command.not_before <= now,
                Command.expires_at > now,
            )
            .order_by(Command.not_before, Command.created_at, Command.id)
            .limit(limit)
        ).all()

    def mark_sent(self, command_id: str, now: datetime, via: str) -> bool:
        got = self.session.execute(
            update(Command)
            .where(Command.id == command_id, Command.state == CommandState.QUEUED.value)
            .values(state=CommandState.SENT.value, sent_at=now, sent_via=via)
            .execution_options(synchronize_session=False)
        )
        if getattr(got, "rowcount", 0) != 1:
            return False
        row = self.session.get(Command, command_id)
        if row is not None:
            self.session.refresh(row)
        return True

    def unsend(self, command_ids: Sequence[str]) -> None:
        self.session.execute(
            update(Command)
            .where(Command.id.in_(list(command_ids)), Command.state == CommandState.SENT.value)
            .values(state=CommandState.QUEUED.value, sent_at=None, sent_via=None)
            .execution_options(synchronize_session=False)
        )

    def serial_of(self, device_id: str) -> str:
        device = self.session.get(Device, device_id)
        return device.serial if device is not None else ""

    def gateways(self, serials: Iterable[str]) -> Sequence[tuple[str, str]]:
        rows = self.session.execute(
            select(Device.id, Device.serial).where(
                Device.serial.in_(sorted(serials)),
                Device.kind == "gateway",
                Device.deleted_at.is_(None),
            )
        ).all()
        return [(r[0], r[1]) for r in rows]

    def audit(
        self, command: CommandLike, action: str, detail: Mapping[str, Any], now: datetime
    ) -> None:
        actor = self.session.get(User, command.created_by) if command.created_by else None
        site = self.session.get(Site, command.site_id)
        self.session.add(
            AuditEntry(
                at=now,
                actor_id=actor.id if actor else None,
                actor_email=actor.email if actor else "",
                org_id=site.org_id if site else (actor.org_id if actor else None),
                action=action,
                object_type="command",
                object_id=command.id,
                detail=dict(detail),
            )
        )
