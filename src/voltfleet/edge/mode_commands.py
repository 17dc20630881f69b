"""``work_mode``, ``power_switch`` and ``intelligent_load`` on a SunSpec device: the points of
edge/sunspec_modes.py written over Modbus, then read back, and the acknowledgement reports what
the device reads back (``work_mode`` is the mode its storage-control points say it runs, so the
portal's Mode page shows the device's mode, not only the one sent).

Before writing anything every point is checked: its model is on the device, the device
implements it (a point reading SunSpec's "not implemented" value cannot be set) and it is
writable. A write the device refuses (a Modbus exception) fails the command with its reason and
names the points already written; a point that reads back another value than written fails it
too (the device took the write but did not apply it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from voltfleet.domain.work_modes import WorkModeError
from voltfleet.edge import sunspec_modes as sm
from voltfleet.protocols.modbus.link import ModbusLinkError
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec.scan import FoundDevice, RegisterReader

OPERATIONS = ("work_mode", "power_switch", "intelligent_load")


def _failed(message: str) -> dict[str, Any]:
    return {"status": "failed", "message": message, "details": {}}


def _controller(kind: str, target: FoundDevice, devices: dict[str, FoundDevice]) -> FoundDevice:
    """The device whose points carry the operation: the target itself, or for a work mode the
    device on the bus with storage control (a battery's modes are set on its inverter)."""
    if kind != "work_mode" or target.find(sm.STORAGE) is not None:
        return target
    return next((d for d in devices.values() if d.find(sm.STORAGE) is not None), target)


async def _read_models(
    link: RegisterReader, device: FoundDevice, model_ids: list[int]
) -> dict[int, tuple[int, list[int], ss.Layout]]:
    out = {}
    for mid in model_ids:
        m = device.find(mid)
        assert m is not None  # the plan only names models the device has
        regs = await link.read(device.unit_id, m.address, m.length + 2)
        out[mid] = (m.address, regs, ss.layout(mid))
    return out


async def operate(
    link: Any,
    devices: dict[str, FoundDevice],
    kind: str,
    serial: str,
    params: dict[str, Any],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    target = devices.get(serial)
    if target is None:
        return _failed(f"no device {serial!r} on this gateway's bus")
    device = _controller(kind, target, devices)
    try:
        plan = sm.plan(kind, params, device.model_ids)
    except WorkModeError as exc:
        return _failed(str(exc))
    except sm.NotOverSunSpec as exc:
        return _failed(str(exc))
    except ValueError as exc:
        return _failed(str(exc))
    return await apply(link, device, plan, now)


async def apply(
    link: Any, device: FoundDevice, plan: sm.OperationPlan, now: Callable[[], datetime]
) -> dict[str, Any]:
    """Check, write and read back the points of ``plan`` on ``device``; the reply."""
    models = await _read_models(link, device, plan.models)
    for w in plan.writes:
        _, regs, lay = models[w.model]
        p = lay.points.get(w.point)
        if p is None or not p.writable:
            return _failed(f"{w.point} of model {w.model} cannot be written on {device.serial}")
        if ss.value(lay, regs, w.point) is None:
            return _failed(
                f"{device.serial} does not implement {w.point} of model {w.model}: "
                f"{plan.what} is not supported by this device over SunSpec"
            )
    done: list[str] = []
    for w in plan.writes:
        at, regs, lay = models[w.model]
        words = ss.encode(lay, w.point, w.value, regs)
        try:
            await link.write(device.unit_id, at + lay.point(w.point).offset, words)
        except ModbusLinkError as exc:
            already = f" (already written: {', '.join(done)})" if done else " (nothing written)"
            return _failed(f"{device.serial} refused {w.point}={w.value:g}: {exc}{already}")
        done.append(f"{w.point}={w.value:g}")
    again = await _read_models(link, device, plan.models)
    read: dict[tuple[int, str], ss.Value] = {}
    for mid, (_, regs, lay) in again.items():
        for name in lay.points:
            if not name.endswith("_SF") and name not in ("ID", "L"):
                read[(mid, name)] = ss.value(lay, regs, name)
    wrong = sm.mismatches(plan, read)
    if wrong:
        return _failed(f"{device.serial} did not apply {plan.what}: {'; '.join(wrong)}")
    details: dict[str, Any] = dict(plan.details)
    details["read_back"] = {
        f"{w.model}.{w.point}": _json(read.get((w.model, w.point))) for w in plan.writes
    }
    storage = {name: v for (mid, name), v in read.items() if mid == sm.STORAGE}
    if plan.details.get("work_mode") == "tou":
        details["device_mode"] = sm.reported_mode(storage)  # the base mode's points
    elif "work_mode" in plan.details:
        details["work_mode"] = sm.reported_mode(storage)
    if "on" in plan.details:
        w = plan.writes[0]
        details["on"] = read.get((w.model, w.point)) == 1
    details["device"] = device.serial
    details["read_at"] = now().isoformat().replace("+00:00", "Z")
    if plan.approximation:
        details["approximation"] = plan.approximation
    return {"status": "acknowledged", "message": f"{plan.what}, read back", "details": details}


def _json(v: ss.Value) -> ss.Value:
    return round(v, 6) if isinstance(v, float) else v
