"""Commands as the caller may see them: those of the devices the caller sees."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import visible_devices
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.errors import NotFound


def visible_commands(caller: Caller) -> Select[tuple[Command]]:
    device_ids = visible_devices(caller).with_only_columns(Device.id)
    return select(Command).where(Command.device_id.in_(device_ids))


class CommandRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def get(self, command_id: str) -> Command:
        row = self.session.scalar(visible_commands(self.caller).where(Command.id == command_id))
        if row is None:
            raise NotFound("command")
        return row

    def of_device(self, device_id: str) -> Select[tuple[Command]]:
        """Newest first (the device must have been checked as visible)."""
        return (
            select(Command)
            .where(Command.device_id == device_id)
            .order_by(Command.created_at.desc(), Command.id)
        )
