"""A simulated gateway's command handling: the platform's commands (``GET /api/v1/gateway/commands``
or MQTT, same body) turned into the home model's battery command (or its power switch and
intelligent-load relay), and the reply it sends.

Pure: data in, data out. The battery obeys its limits: a power beyond what it can charge or
discharge is clipped to its limit (and the reply says so); the model's step keeps energy
conserved (DESIGN.md signs: battery_power_w > 0 is charging).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from voltfleet.domain import autotest
from voltfleet.domain.work_modes import (
    WorkMode,
    WorkModeError,
    check_load,
    check_tou,
    check_work_mode,
)
from voltfleet.simulator.model import BatterySpec, Command, Mode


@dataclass(frozen=True)
class Outcome:
    """What the gateway does with one command: the new battery command (None: unchanged) and
    its reply."""

    command: Command | None
    ok: bool
    message: str
    details: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)  # other HomeState fields to set

    def reply(self) -> dict[str, Any]:
        return {
            "status": "acknowledged" if self.ok else "failed",
            "message": self.message,
            "details": self.details,
        }


# A simulated inverter's AutoTest (CEI 0-21 protection functions: over/under voltage and
# frequency), each tripping just inside its threshold and time.
SELF_TEST: tuple[dict[str, Any], ...] = tuple(
    {
        "name": name,
        "threshold": threshold,
        "measured": measured,
        "trip_time_ms": trip_ms,
        "limit_ms": limit_ms,
        "passed": True,
    }
    for name, threshold, measured, trip_ms, limit_ms in (
        ("59.S1", "253.0 V", "253.2 V", 2960, 3000),
        ("59.S2", "264.5 V", "264.6 V", 188, 200),
        ("27.S1", "195.5 V", "195.4 V", 1480, 1500),
        ("27.S2", "34.5 V", "34.4 V", 190, 200),
        ("81>.S1", "50.2 Hz", "50.21 Hz", 96, 100),
        ("81<.S1", "49.8 Hz", "49.79 Hz", 97, 100),
        ("81>.S2", "51.5 Hz", "51.51 Hz", 95, 100),
        ("81<.S2", "47.5 Hz", "47.49 Hz", 98, 100),
    )
)


def _fail(message: str) -> Outcome:
    return Outcome(None, False, message, {})


def _setpoint(power_w: float, battery: BatterySpec, what: str) -> Outcome:
    limit = battery.max_charge_w if power_w > 0 else battery.max_discharge_w
    applied = max(-limit, min(limit, power_w))
    note = "" if applied == power_w else f" (clipped from {power_w:g} W to the battery's limit)"
    return Outcome(
        Command(Mode.SETPOINT, applied),
        True,
        f"{what} at {applied:g} W{note}",
        {"applied_battery_power_w": applied},
    )


def interpret(body: Any, battery: BatterySpec | None, devices: set[str]) -> Outcome:
    """The outcome of one command body ``{"id", "kind", "device", "params"}`` for a home whose
    battery is ``battery`` and whose battery-controlling devices have the serials ``devices``."""
    if not isinstance(body, dict):
        return _fail("unreadable command")
    if body.get("kind") == "self_test":  # the inverter's grid-protection AutoTest
        return Outcome(None, True, "self-test passed", {"tests": [dict(t) for t in SELF_TEST]})
    if body.get("device") not in devices:
        return _fail(f"no device {body.get('device')!r} controls a battery here")
    params = body.get("params")
    if not isinstance(params, dict):
        return _fail("params missing")
    kind = body.get("kind")
    if kind in ("work_mode", "intelligent_load", "power_switch"):
        return _operation(str(kind), params, battery)
    if kind == "autotest":
        return _autotest(str(body.get("device")), params)
    if battery is None:
        return _fail("this home has no battery")
    power = params.get("battery_power_w")
    if power is not None and (
        isinstance(power, bool) or not isinstance(power, int | float) or not math.isfinite(power)
    ):
        return _fail(f"battery_power_w {power!r} is not a number")
    if kind == "battery_setpoint":
        if power is None:
            return _fail("battery_power_w missing")
        if power == 0:
            return Outcome(Command(Mode.IDLE), True, "idle (setpoint 0 W)", {})
        return _setpoint(float(power), battery, "holding")
    if kind != "battery_mode":
        return _fail(f"unsupported command kind {kind!r}")
    mode = params.get("mode")
    if mode == "self_consumption":
        return Outcome(Command(Mode.SELF_CONSUMPTION), True, "self-consumption", {})
    if mode == "idle":
        return Outcome(Command(Mode.IDLE), True, "idle", {})
    if mode == "charge":
        p = battery.max_charge_w if power is None else float(power)
        if p <= 0:
            return _fail("charge needs battery_power_w > 0")
        return _setpoint(p, battery, "charging")
    if mode == "discharge":
        p = -battery.max_discharge_w if power is None else float(power)
        if p >= 0:
            return _fail("discharge needs battery_power_w < 0")
        return _setpoint(p, battery, "discharging")
    return _fail(f"unsupported mode {mode!r}")


def _operation(kind: str, params: dict[str, Any], battery: BatterySpec | None) -> Outcome:
    """A working mode, the intelligent-load relay or the power switch (domain/work_modes.py
    checks the parameters as the platform did: a device never trusts its link)."""
    try:
        if kind == "power_switch":
            on = params.get("on")
            if not isinstance(on, bool):
                return _fail("on must be true or false")
            return Outcome(
                None,
                True,
                "inverter started" if on else "inverter stopped",
                {"on": on},
                {"inverter_on": on},
            )
        if kind == "intelligent_load":
            load = check_load(params)
            return Outcome(
                None,
                True,
                f"intelligent load: {load.mode.value}",
                {"load_mode": load.mode.value},
                {"load": load},
            )
        checked = check_work_mode(params)
    except WorkModeError as exc:
        return _fail(str(exc))
    mode = WorkMode(checked["mode"])
    if battery is None:
        return _fail("this home has no battery: its inverter runs PV mode only")
    details = {"work_mode": mode.value}
    if mode is WorkMode.TOU:
        tou = check_tou(checked["tou"])
        return Outcome(Command(Mode.TOU, tou=tou), True, "TOU mode", details)
    if mode is WorkMode.PV:
        return Outcome(Command(Mode.IDLE), True, "PV mode (battery not used)", details)
    if mode is WorkMode.FULL_FEED_IN:
        return Outcome(Command(Mode.FULL_FEED_IN), True, "full feed-in", details)
    if mode is WorkMode.EMERGENCY_CHARGING:
        return Outcome(
            Command(Mode.SETPOINT, battery.max_charge_w), True, "emergency charging", details
        )
    note = "forced off-grid (simulated: the battery covers the loads, the grid backs it up)"
    if mode is WorkMode.FORCED_OFF_GRID:
        return Outcome(Command(Mode.SELF_CONSUMPTION), True, note, details)
    return Outcome(Command(Mode.SELF_CONSUMPTION), True, "self-consumption", details)


def _autotest(serial: str, params: dict[str, Any]) -> Outcome:
    """The protection self-test of a healthy inverter: each protection trips close to its
    threshold and in time (offsets and times fixed by the serial, so a run is repeatable)."""
    try:
        autotest.check_start(params)
    except autotest.AutoTestError as exc:
        return _fail(str(exc))
    seed = int(hashlib.sha256(serial.encode()).hexdigest()[:8], 16)
    steps = []
    for i, step in enumerate(autotest.STEPS):
        wobble = ((seed >> i) % 7 - 3) / 10  # -0.3 .. +0.3 of the tolerance
        steps.append(
            {
                "code": step.code,
                "value": round(step.threshold + wobble * step.tolerance, 3),
                "time_s": round(step.max_time_s * (0.55 + ((seed >> (i + 3)) % 4) / 10), 3),
            }
        )
    return Outcome(
        None,
        True,
        f"{autotest.STANDARD} self-test finished: {len(steps)} protections tripped",
        {"standard": autotest.STANDARD, "steps": steps},
    )
