"""TOU mode on a SunSpec inverter: SunSpec has no time-of-use table, so the agent keeps the
table and writes the points of the slot's base mode (edge/sunspec_modes.py ``tou_plan``) when
the command arrives and again whenever the base mode changes (checked after every poll, on the
agent's clock in its configured ``zone``). A public holiday of the configured ``country`` (and
``subdivision``; the ``holidays`` package's calendar) follows the table's holiday rule: the
weekend's slots or the weekday's; without a country a holiday runs as its weekday.

The table survives a restart of the agent (kept in its outbox database). Another work mode or a
battery command for the same inverter ends it; a register write does not. A base-mode change
the device refuses is logged and tried again a minute later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from voltfleet.domain.tariffs.holidays_calendar import is_public_holiday
from voltfleet.domain.work_modes import (
    TouSettings,
    WorkModeError,
    check_tou,
    check_work_mode,
    tou_mode_at,
)
from voltfleet.edge import sunspec_modes as sm
from voltfleet.edge.mode_commands import _controller, _failed, _read_models, apply
from voltfleet.protocols.modbus.link import ModbusLinkError
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec.scan import FoundDevice

log = logging.getLogger(__name__)

KEY = "tou-table"  # its key among the outbox's remembered replies
RETRY = timedelta(minutes=1)


class Memory(Protocol):
    def reply_of(self, command_id: str) -> dict[str, Any] | None: ...
    def remember(self, command_id: str, reply: dict[str, Any]) -> None: ...


class TouRunner:
    def __init__(
        self,
        link: Any,
        devices: Callable[[], dict[str, FoundDevice]],
        zone: ZoneInfo,
        memory: Memory,
        now: Callable[[], datetime],
        country: str = "",
        subdivision: str = "",
    ) -> None:
        self.country = country  # "" : no public holidays known
        self.subdivision = subdivision or None
        self.link = link
        self.devices = devices
        self.zone = zone
        self.memory = memory
        self.now = now
        self.serial: str | None = None  # the inverter that runs the table
        self.table: TouSettings | None = None
        self.base: str | None = None  # the base mode written last
        self._retry_at: datetime | None = None
        kept = memory.reply_of(KEY)
        if kept and kept.get("serial") and kept.get("tou"):
            try:
                self.serial, self.table = str(kept["serial"]), check_tou(kept["tou"])
            except WorkModeError:
                self.serial = None

    def stop(self, serial: str) -> None:
        """Another mode acknowledged for ``serial`` (or the battery on its storage control):
        the table no longer runs."""
        if self.serial is None:
            return
        target = self.devices().get(serial)
        device = _controller("work_mode", target, self.devices()) if target else None
        if serial == self.serial or (device is not None and device.serial == self.serial):
            log.info("edge: TOU on %s ended by another mode", self.serial)
            self.serial = self.table = self.base = None
            self.memory.remember(KEY, {})

    def holiday(self, day: date) -> bool:
        """Is ``day`` (the site's date) a public holiday where the site is?"""
        return bool(self.country) and is_public_holiday(day, self.country, self.subdivision)

    async def _plan(self, device: FoundDevice, tou: TouSettings) -> sm.OperationPlan:
        models = await _read_models(self.link, device, [sm.STORAGE])
        _, regs, lay = models[sm.STORAGE]
        wchamax = ss.value(lay, regs, "WChaMax")
        wmax: ss.Value = None
        for mid, point in ((121, "WMax"), (702, "WMaxRtg")):
            if device.find(mid) is not None:
                _, regs, lay = (await _read_models(self.link, device, [mid]))[mid]
                wmax = ss.value(lay, regs, point)
                break
        local = self.now().astimezone(self.zone)
        return sm.tou_plan(
            tou,
            local,
            device.model_ids,
            holiday=self.holiday(local.date()),
            wchamax_w=float(wchamax) if isinstance(wchamax, int | float) else None,
            wmax_w=float(wmax) if isinstance(wmax, int | float) else None,
        )

    async def start(self, serial: str, params: dict[str, Any]) -> dict[str, Any]:
        """A ``work_mode`` ``tou`` command: the current slot's points, and the table kept."""
        try:
            checked = check_work_mode(params)
        except WorkModeError as exc:
            return _failed(str(exc))
        devices = self.devices()
        target = devices.get(serial)
        if target is None:
            return _failed(f"no device {serial!r} on this gateway's bus")
        device = _controller("work_mode", target, devices)
        try:
            table = check_tou(checked["tou"])
            plan = await self._plan(device, table)
        except (sm.NotOverSunSpec, WorkModeError, ValueError) as exc:
            return _failed(str(exc))
        reply = await apply(self.link, device, plan, self.now)
        if reply["status"] == "acknowledged":
            self.serial, self.table = device.serial, table
            self.base = str(plan.details["active_mode"])
            self._retry_at = None
            self.memory.remember(KEY, {"serial": self.serial, "tou": checked["tou"]})
            reply["details"]["zone"] = str(self.zone)
        return reply

    async def tick(self) -> None:
        """Write the base mode's points when the slot changed (after each poll)."""
        if self.serial is None or self.table is None:
            return
        now = self.now()
        if self._retry_at is not None and now < self._retry_at:
            return
        local = now.astimezone(self.zone)
        if tou_mode_at(self.table, local, holiday=self.holiday(local.date())).value == self.base:
            return  # the same slot's mode: nothing to write
        device = self.devices().get(self.serial)
        if device is None:
            return  # not found (yet): the next scan may bring it
        try:
            plan = await self._plan(device, self.table)
            reply = await apply(self.link, device, plan, self.now)
        except (sm.NotOverSunSpec, WorkModeError, ValueError, ModbusLinkError) as exc:
            reply = _failed(str(exc))
        if reply["status"] == "acknowledged":
            self.base = str(plan.details["active_mode"])
            self._retry_at = None
            log.info("edge: TOU on %s: %s now", self.serial, self.base)
        else:
            self._retry_at = now + RETRY
            log.warning("edge: TOU on %s could not change mode: %s", self.serial, reply["message"])
