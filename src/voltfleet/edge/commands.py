"""The platform's commands, executed on the Modbus bus (the wire contract of issue 15):

- ``register_read``: ``{"points": [{"model", "point"} | {"address", "count"}, ...]}`` ->
  details ``{"values": [{"model", "point", "value"} | {"address", "words"}], "read_at"}``;
- ``register_write``: ``{"model", "point", "value"}`` (a SunSpec point: the agent applies its
  scale factor and refuses a read-only point or a value its type cannot hold) or
  ``{"address", "words"}`` (a vendor register, already scaled by the platform) -> details
  ``{"before", "after"}``, ``after`` read back from the device once written;
- ``scan``: ``{}`` or ``{"unit_ids": [...]}`` -> details ``{"found": n}``, then the inventory
  (what answered: unit id, kind, model, serial, from which the platform adds the devices);
- the gateway's own settings (``upload_interval``, ``gateway_reset``, ``gateway_protocol``,
  ``serial_forwarding``, ``tcp_forwarding``, ``gateway_baud_rate``): edge/gateway_commands.py;
- ``work_mode`` / ``power_switch`` / ``intelligent_load``: SunSpec control points written and
  read back (edge/mode_commands.py, the mapping in edge/sunspec_modes.py);
- ``battery_mode`` / ``battery_setpoint`` (domain/commands.py): through the storage control
  model 124 of the inverter the battery hangs on (the battery itself, model 802, has none):
  ``StorCtl_Mod`` bit 0 charges at ``InWRte`` % of ``WChaMax``, bit 1 discharges at ``OutWRte`` %,
  neither is the inverter's own self-consumption; idle is "charge at 0 %". The power is clipped
  to ``WChaMax`` and the reply says what was applied.

A command names its target by ``device`` (the serial below the gateway). A device that refuses a
write (Modbus exception 3: the value is out of its range) fails the command with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from voltfleet.edge.gateway_commands import KINDS as GATEWAY_KINDS
from voltfleet.edge.gateway_commands import GatewayControl
from voltfleet.edge.mode_commands import OPERATIONS, operate
from voltfleet.edge.tou_runner import TouRunner
from voltfleet.protocols.modbus.link import MAX_READ, ModbusLinkError
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec.scan import FoundDevice, RegisterReader


class Link(RegisterReader, Protocol):
    async def write(self, unit_id: int, address: int, words: list[int]) -> None: ...


class Refused(ValueError):
    pass


def ok(message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"status": "acknowledged", "message": message, "details": details}


def failed(message: str) -> dict[str, Any]:
    return {"status": "failed", "message": message, "details": {}}


class Executor:
    def __init__(
        self,
        link: Link,
        devices: Callable[[], dict[str, FoundDevice]],
        rescan: Callable[[list[int] | None], Awaitable[int]],
        now: Callable[[], datetime],
        tou: TouRunner | None = None,
        gateway: GatewayControl | None = None,
    ) -> None:
        self.gateway = gateway  # the gateway's own settings; None: refused
        self.tou = tou  # runs TOU tables (edge/tou_runner.py); None: TOU is refused
        self.link = link
        self.devices = devices
        self.rescan = rescan
        self.now = now

    async def run(self, body: Any) -> dict[str, Any]:
        reply = await self._run(body)
        kind = body.get("kind") if isinstance(body, dict) else None
        params = body.get("params") if isinstance(body, dict) else None
        tou = isinstance(params, dict) and params.get("mode") == "tou"
        if (
            self.tou is not None
            and reply["status"] == "acknowledged"
            and kind in ("work_mode", "battery_mode", "battery_setpoint")
            and not (kind == "work_mode" and tou)
        ):
            self.tou.stop(str(body.get("device")))  # another mode ends the TOU table
        return reply

    async def _run(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            return failed("unreadable command: a JSON object was expected")
        params = body.get("params")
        params = {} if params is None else params
        if not isinstance(params, dict):
            return failed("params must be a JSON object")
        kind = body.get("kind")
        try:
            if kind == "scan":
                return await self._scan(params)
            if kind in GATEWAY_KINDS and self.gateway is not None:
                return await self.gateway.apply(str(kind), params)
            if kind in ("battery_mode", "battery_setpoint"):
                return await self._battery(str(kind), str(body.get("device")), params)
            if kind == "work_mode" and params.get("mode") == "tou" and self.tou is not None:
                return await self.tou.start(str(body.get("device")), params)
            if kind in OPERATIONS:  # modes and the power switch (edge/mode_commands.py)
                serial = str(body.get("device"))
                return await operate(self.link, self.devices(), kind, serial, params, self.now)
            if kind not in ("register_read", "register_write"):
                return failed(
                    f"unsupported command kind {kind!r} (this gateway: register_read, "
                    "register_write, scan, battery_mode, battery_setpoint, work_mode, "
                    "power_switch, intelligent_load"
                    + (", " + ", ".join(sorted(GATEWAY_KINDS)) if self.gateway else "")
                    + ")"
                )
            device = self.devices().get(str(body.get("device")))
            if device is None:
                return failed(f"no device {body.get('device')!r} on this gateway's bus")
            if kind == "register_read":
                return await self._read(device, params)
            return await self._write(device, params)
        except Refused as exc:
            return failed(str(exc))
        except ss.SunSpecError as exc:
            return failed(str(exc))
        except ModbusLinkError as exc:
            return failed(f"the device did not do it: {exc}")

    # ---- scan --------------------------------------------------------------------------------

    async def _scan(self, params: dict[str, Any]) -> dict[str, Any]:
        units = params.get("unit_ids")
        if units is not None and not (
            isinstance(units, list)
            and units
            and all(isinstance(u, int) and not isinstance(u, bool) and 1 <= u <= 247 for u in units)
        ):
            return failed("unit_ids must be a list of Modbus unit ids 1..247")
        found = await self.rescan(units)
        return ok(f"found {found} SunSpec device(s)", {"found": found})

    # ---- read --------------------------------------------------------------------------------

    async def _model(self, device: FoundDevice, model_id: Any) -> tuple[int, list[int], ss.Layout]:
        if not isinstance(model_id, int) or isinstance(model_id, bool):
            raise Refused(f"model must be a SunSpec model id, got {model_id!r}")
        m = device.find(model_id)
        if m is None:
            raise Refused(
                f"{device.serial} has no SunSpec model {model_id} (it has {device.model_ids})"
            )
        regs = await self.link.read(device.unit_id, m.address, m.length + 2)
        return m.address, regs, ss.layout(model_id)

    async def _read(self, device: FoundDevice, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("points")
        if not isinstance(items, list) or not items or len(items) > 100:
            return failed("points must be a list of 1..100 {model, point} or {address, count}")
        values: list[dict[str, Any]] = []
        cache: dict[int, tuple[int, list[int], ss.Layout]] = {}
        for item in items:
            if not isinstance(item, dict):
                raise Refused(f"unreadable point {item!r}")
            if "model" in item:
                mid = item.get("model")
                if mid not in cache:
                    cache[mid] = await self._model(device, mid)
                _, regs, lay = cache[mid]
                name = str(item.get("point"))
                values.append(
                    {"model": mid, "point": name, "value": _json(ss.value(lay, regs, name))}
                )
            else:
                address, count = _address(item.get("address")), item.get("count", 1)
                if (
                    not isinstance(count, int)
                    or isinstance(count, bool)
                    or not 1 <= count <= MAX_READ
                ):
                    raise Refused(f"count must be 1..{MAX_READ}")
                words = await self.link.read(device.unit_id, address, count)
                values.append({"address": address, "words": words})
        read_at = self.now().isoformat().replace("+00:00", "Z")
        return ok(f"read {len(values)} value(s)", {"values": values, "read_at": read_at})

    # ---- write -------------------------------------------------------------------------------

    async def _write(self, device: FoundDevice, params: dict[str, Any]) -> dict[str, Any]:
        if "model" in params:
            at, regs, lay = await self._model(device, params.get("model"))
            name = str(params.get("point"))
            p = lay.point(name)
            if not p.writable:
                raise Refused(f"{name} of model {lay.model_id} is read-only")
            value = params.get("value")
            if isinstance(value, float) and not math.isfinite(value):
                raise Refused("value must be a finite number")
            words = ss.encode(lay, name, value, regs)
            before = ss.value(lay, regs, name)
            await self.link.write(device.unit_id, at + p.offset, words)
            _, again, _ = await self._model(device, lay.model_id)
            after = ss.value(lay, again, name)
            return ok(f"{name} written", {"before": _json(before), "after": _json(after)})
        address = _address(params.get("address"))
        words = params.get("words")
        if not (
            isinstance(words, list)
            and 1 <= len(words) <= 123
            and all(
                isinstance(w, int) and not isinstance(w, bool) and 0 <= w <= 0xFFFF for w in words
            )
        ):
            raise Refused("words must be a list of 1..123 register values 0..65535")
        before = await self.link.read(device.unit_id, address, len(words))
        await self.link.write(device.unit_id, address, words)
        after = await self.link.read(device.unit_id, address, len(words))
        return ok(
            f"{len(words)} register(s) written at {address}", {"before": before, "after": after}
        )

    # ---- battery modes through storage control (124) -----------------------------------------

    async def _battery(self, kind: str, serial: str, params: dict[str, Any]) -> dict[str, Any]:
        devices = self.devices()
        target = devices.get(serial)
        if target is None:
            return failed(f"no device {serial!r} on this gateway's bus")
        control = (
            target
            if target.find(124)
            else next((d for d in devices.values() if d.find(124) is not None), None)
        )
        if control is None:
            return failed("no device on this bus has SunSpec storage control (model 124)")
        power = params.get("battery_power_w")
        if power is not None and (
            isinstance(power, bool)
            or not isinstance(power, int | float)
            or not math.isfinite(power)
        ):
            return failed(f"battery_power_w {power!r} is not a number")
        at, regs, lay = await self._model(control, 124)
        limit = ss.value(lay, regs, "WChaMax")
        if not isinstance(limit, int | float) or limit <= 0:
            return failed("the inverter reports no WChaMax: it cannot take a battery power")
        mode = params.get("mode") if kind == "battery_mode" else None
        if kind == "battery_setpoint":
            if power is None:
                return failed("battery_power_w missing")
            watts = float(power)
        elif mode == "self_consumption":
            watts = None
        elif mode == "idle":
            watts = 0.0
        elif mode == "charge":
            watts = float(limit) if power is None else float(power)
        elif mode == "discharge":
            watts = -float(limit) if power is None else float(power)
        else:
            return failed(f"unsupported mode {mode!r}")
        writes: list[tuple[str, ss.Value]]
        if watts is None:
            writes = [("StorCtl_Mod", 0)]
        else:
            watts = max(-float(limit), min(float(limit), watts))
            pct = round(abs(watts) / float(limit) * 100, 1)
            writes = (
                [("InWRte", pct), ("StorCtl_Mod", 1)]
                if watts >= 0
                else [("OutWRte", pct), ("StorCtl_Mod", 2)]
            )
        for name, value in writes:
            await self.link.write(control.unit_id, at + lay.point(name).offset,
                                  ss.encode(lay, name, value, regs))  # fmt: skip
        details: dict[str, Any] = {"storage_control": control.serial}
        if watts is not None:
            details["applied_battery_power_w"] = watts
        what = "self-consumption" if watts is None else f"battery at {watts:g} W"
        return ok(what, details)


def _address(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFF:
        raise Refused(f"address must be a register address 0..65535, got {v!r}")
    return v


def _json(v: ss.Value) -> ss.Value:
    return round(v, 6) if isinstance(v, float) else v
