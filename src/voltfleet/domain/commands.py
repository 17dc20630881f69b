"""Device commands: what may be asked of a device, checked, and how a command's state moves on.

Pure: data in, data out; the caller passes the clock's reading.

Kinds (the wire contract shared with the edge agent: docs/device-settings.md):

- ``battery_mode``: ``{"mode": "self_consumption" | "charge" | "discharge" | "idle",
  "battery_power_w": <W, optional>}``. Sign as everywhere at a site (DESIGN.md): > 0 is
  charging, < 0 is discharging, so ``charge`` takes a power > 0 and ``discharge`` one < 0;
  without it the device's limit is used. ``self_consumption`` and ``idle`` take no power.
- ``battery_setpoint``: ``{"battery_power_w": <W>}``: hold this battery power (signed as
  above; 0 holds the battery idle).
- ``register_read``: ``{"points": [{"model", "point"} | {"address", "count"}, ...]}`` (the
  device's register map names them); the reply's details hold ``values`` and ``read_at``.
- ``register_write``: ``{"model", "point", "value"}`` (SunSpec; the gateway applies the scale
  factor) or ``{"address", "words"}`` (a vendor map; the platform scaled the value), checked
  against the map: writable, within range, on a step. The reply holds ``before`` and ``after``.
- ``scan``: ``{}`` or ``{"unit_ids": [...]}``: the gateway scans its Modbus bus.
- ``work_mode``: ``{"mode": "pv" | "self_consumption" | "full_feed_in" | "emergency_charging" |
  "forced_off_grid" | "tou", "tou": {...}}`` (the TOU table only with ``tou``;
  domain/work_modes.py). The reply's details say the mode the inverter runs (``work_mode``) and,
  in TOU, the base mode of the moment (``active_mode``).
- ``intelligent_load``: ``{"mode": "off" | "manual" | "battery" | "time" | "surplus", ...}``
  (domain/work_modes.py); the reply's details say whether the relay is on (``load_on``).
- ``power_switch``: ``{"on": true | false}``: start or stop the inverter.
- ``autotest``: ``{"standard": "CEI 0-21"}``: the inverter's protection self-test (Italy;
  domain/autotest.py); the reply's details hold ``steps``: ``[{"code", "value", "time_s"}]``.
- ``live_data``: ``{"enabled": true, "interval_s": 10, "duration_s": <s>}``: the gateway sends
  the device's readings every ``interval_s`` for ``duration_s`` (renewed while live data is
  enabled or watched), then goes back to its own interval by itself; ``{"enabled": false}``
  goes back at once. Queued by the platform when the live-data switch changes.

- ``gateway_protocol``, ``serial_forwarding``, ``tcp_forwarding``, ``upload_interval``,
  ``gateway_baud_rate``, ``gateway_reset``: the gateway's own settings
  (domain/gateway_settings.py); the reply's details hold the values applied (``applied``).

The wire form a gateway receives is the kind and the checked parameters (``wire_body``).

States: ``queued`` (waiting for its gateway) -> ``sent`` (handed to the gateway, over HTTP or
MQTT) -> ``acknowledged`` (the gateway applied it) | ``failed`` (the gateway refused it, or no
reply came in time). A command still queued at ``expires_at`` is ``expired``: it was never
delivered, so nothing was applied. Final states never change again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from voltfleet.domain import gateway_settings as gs
from voltfleet.domain.autotest import AutoTestError, check_start
from voltfleet.domain.registers import (
    MAX_POINTS_PER_READ,
    MAX_WORDS,
    Parameter,
    RegisterError,
    RegisterMap,
    check_value,
    from_words,
    to_words,
)
from voltfleet.domain.work_modes import WorkModeError, check_load, check_work_mode, load_params


class CommandKind(StrEnum):
    BATTERY_MODE = "battery_mode"
    BATTERY_SETPOINT = "battery_setpoint"
    REGISTER_READ = "register_read"
    REGISTER_WRITE = "register_write"
    SCAN = "scan"
    WORK_MODE = "work_mode"
    INTELLIGENT_LOAD = "intelligent_load"
    POWER_SWITCH = "power_switch"
    AUTOTEST = "autotest"
    FIRMWARE_UPDATE = "firmware_update"  # queued by upgrade campaigns (usecases.firmware)
    LIVE_DATA = "live_data"  # queued by the live-data switch (usecases.live_data)
    SELF_TEST = "self_test"  # the inverter's grid-protection self-test (Italy: AutoTest)
    # the gateway's own settings (domain/gateway_settings.py)
    GATEWAY_PROTOCOL = "gateway_protocol"
    SERIAL_FORWARDING = "serial_forwarding"
    TCP_FORWARDING = "tcp_forwarding"
    UPLOAD_INTERVAL = "upload_interval"
    GATEWAY_BAUD_RATE = "gateway_baud_rate"
    GATEWAY_RESET = "gateway_reset"


class BatteryMode(StrEnum):
    SELF_CONSUMPTION = "self_consumption"  # charge from surplus PV, discharge to cover the load
    CHARGE = "charge"  # charge at battery_power_w (> 0), from PV or the grid
    DISCHARGE = "discharge"  # discharge at -battery_power_w (battery_power_w < 0)
    IDLE = "idle"  # neither charge nor discharge


class CommandState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"
    EXPIRED = "expired"


FINAL = frozenset({CommandState.ACKNOWLEDGED, CommandState.FAILED, CommandState.EXPIRED})
PENDING = frozenset({CommandState.QUEUED, CommandState.SENT})

# Device kinds that take each command (the battery itself, or the hybrid inverter it hangs on).
TARGETS: dict[CommandKind, frozenset[str]] = {
    CommandKind.BATTERY_MODE: frozenset({"battery", "inverter"}),
    CommandKind.BATTERY_SETPOINT: frozenset({"battery", "inverter"}),
    # registers of the Modbus devices below a gateway; a scan of the gateway's own bus
    CommandKind.REGISTER_READ: frozenset({"inverter", "battery", "meter"}),
    CommandKind.REGISTER_WRITE: frozenset({"inverter", "battery", "meter"}),
    CommandKind.SCAN: frozenset({"gateway"}),
    CommandKind.WORK_MODE: frozenset({"inverter"}),
    CommandKind.INTELLIGENT_LOAD: frozenset({"inverter"}),
    CommandKind.POWER_SWITCH: frozenset({"inverter"}),
    CommandKind.AUTOTEST: frozenset({"inverter"}),
    CommandKind.FIRMWARE_UPDATE: frozenset({"gateway", "inverter"}),
    # the gateway above the device sends faster (chargers speak OCPP: never through a gateway)
    CommandKind.LIVE_DATA: frozenset({"gateway", "inverter", "battery", "meter"}),
    CommandKind.SELF_TEST: frozenset({"inverter"}),  # results: domain.firmware.self_test
    **{CommandKind(k): frozenset({"gateway"}) for k in gs.GATEWAY_SETTING_KINDS},
}
# Kinds only the platform queues (a person asks for them through an upgrade task).
PLATFORM_ONLY = frozenset({CommandKind.FIRMWARE_UPDATE, CommandKind.LIVE_DATA})
LIVE_INTERVAL_S = 10  # the live-data interval of the manual
MAX_LIVE_DURATION_S = 86_400
FIRMWARE_PARAMS = ("release_id", "version", "firmware_type", "url", "sha256", "size_bytes")

DEFAULT_TTL = timedelta(minutes=5)
MIN_TTL = timedelta(seconds=10)
MAX_TTL = timedelta(days=2)
# Without a rated power on the device: the most a residential battery is asked for.
DEFAULT_MAX_POWER_W = 50_000.0
# How long a sent command waits for its reply at least (when sent close to its expiry).
REPLY_GRACE = timedelta(seconds=60)


class CommandError(ValueError):
    """A command that cannot be accepted; ``field`` names the parameter at fault."""

    def __init__(self, message: str, field: str = "params") -> None:
        super().__init__(message)
        self.field = field


class TransitionError(ValueError):
    """A state change that is not allowed (for example a reply to an expired command)."""


@dataclass(frozen=True)
class DeviceLimits:
    """What a device can do: its kind and the largest battery power (W, magnitude) it takes."""

    device_kind: str
    max_power_w: float = DEFAULT_MAX_POWER_W


@dataclass(frozen=True)
class CommandRequest:
    """A checked command: the kind and its normalised parameters (only the keys it uses)."""

    kind: CommandKind
    params: dict[str, Any]

    def wire_body(self, command_id: str) -> dict[str, Any]:
        return {"id": command_id, "kind": self.kind.value, "params": dict(self.params)}


def _power(params: dict[str, Any], limit_w: float, *, required: bool) -> float | None:
    value = params.get("battery_power_w")
    if value is None:
        if required:
            raise CommandError("battery_power_w (W) is required", "battery_power_w")
        return None
    try:
        number = float(value) if isinstance(value, int | float) else math.nan
    except OverflowError:  # an int beyond any float
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise CommandError(
            f"battery_power_w must be a number of watts, got {str(value)[:40]!r}", "battery_power_w"
        )
    value = number
    if abs(value) > limit_w:
        raise CommandError(
            f"battery_power_w {value:g} W is beyond the device's limit of ±{limit_w:g} W",
            "battery_power_w",
        )
    return float(value)


def validate(
    kind: str, params: Any, limits: DeviceLimits, registers: RegisterMap | None = None
) -> CommandRequest:
    """The command, checked against the device (and, for register commands, against its
    register map: without one, only vendor addresses given as words are taken); ``CommandError``
    says what is wrong."""
    try:
        k = CommandKind(kind)
    except ValueError:
        known = ", ".join(c.value for c in CommandKind)
        raise CommandError(f"unknown command kind {kind!r}: one of {known}", "kind") from None
    if limits.device_kind not in TARGETS[k]:
        kinds = " or ".join(sorted(TARGETS[k]))
        raise CommandError(
            f"a {limits.device_kind} does not take {k.value} commands: send them to a {kinds}",
            "kind",
        )
    if not isinstance(params, dict):
        raise CommandError("params must be a JSON object")
    if k is CommandKind.SCAN:
        return _scan(params)
    if k is CommandKind.REGISTER_READ:
        return _register_read(params, registers)
    if k is CommandKind.REGISTER_WRITE:
        return _register_write(params, registers)
    if k in (CommandKind.WORK_MODE, CommandKind.INTELLIGENT_LOAD, CommandKind.POWER_SWITCH):
        return _operation(k, params)
    if k is CommandKind.AUTOTEST:
        try:
            return CommandRequest(k, check_start(params))
        except AutoTestError as exc:
            raise CommandError(str(exc), exc.field) from exc
    if k is CommandKind.LIVE_DATA:
        return _live_data(params)
    if k.value in gs.GATEWAY_SETTING_KINDS:
        try:
            return CommandRequest(k, gs.check(k.value, params))
        except gs.GatewaySettingError as exc:
            raise CommandError(str(exc), exc.field) from exc
    if k is CommandKind.SELF_TEST:  # no parameters: the inverter runs its own test sequence
        _no_extra(params, set())
        return CommandRequest(k, {})
    if k is CommandKind.FIRMWARE_UPDATE:  # built by the platform, never typed by a person
        _no_extra(params, set(FIRMWARE_PARAMS))
        missing = [p for p in FIRMWARE_PARAMS if params.get(p) in (None, "")]
        if missing:
            raise CommandError(f"firmware_update needs {', '.join(missing)}", missing[0])
        return CommandRequest(k, {p: params[p] for p in FIRMWARE_PARAMS})
    limit = limits.max_power_w
    if not (math.isfinite(limit) and limit > 0):
        raise CommandError("the device has no usable power limit (rated_power_w)", "device")
    if k is CommandKind.BATTERY_SETPOINT:
        _no_extra(params, {"battery_power_w"})
        power = _power(params, limit, required=True)
        return CommandRequest(k, {"battery_power_w": power})
    _no_extra(params, {"mode", "battery_power_w"})
    raw = params.get("mode")
    try:
        mode = BatteryMode(str(raw))
    except ValueError:
        modes = ", ".join(m.value for m in BatteryMode)
        raise CommandError(f"mode must be one of {modes}, got {raw!r}", "mode") from None
    power = _power(params, limit, required=False)
    if mode in (BatteryMode.SELF_CONSUMPTION, BatteryMode.IDLE):
        if power is not None:
            raise CommandError(f"mode {mode.value} takes no battery_power_w", "battery_power_w")
        return CommandRequest(k, {"mode": mode.value})
    if power is None:
        power = limit if mode is BatteryMode.CHARGE else -limit
    if mode is BatteryMode.CHARGE and power <= 0:
        raise CommandError(
            "charge needs battery_power_w > 0 (W; > 0 is charging)", "battery_power_w"
        )
    if mode is BatteryMode.DISCHARGE and power >= 0:
        raise CommandError(
            "discharge needs battery_power_w < 0 (W; < 0 is discharging)", "battery_power_w"
        )
    return CommandRequest(k, {"mode": mode.value, "battery_power_w": power})


def _operation(kind: CommandKind, params: dict[str, Any]) -> CommandRequest:
    """An inverter's working mode, intelligent load or power switch (domain/work_modes.py)."""
    try:
        if kind is CommandKind.WORK_MODE:
            return CommandRequest(kind, check_work_mode(params))
        if kind is CommandKind.INTELLIGENT_LOAD:
            return CommandRequest(kind, load_params(check_load(params)))
        _no_extra(params, {"on"})
        if not isinstance(params.get("on"), bool):
            raise CommandError("on must be true (start the inverter) or false (stop it)", "on")
        return CommandRequest(kind, {"on": params["on"]})
    except WorkModeError as exc:
        raise CommandError(str(exc), exc.field) from exc


def _int(value: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CommandError(f"{what} must be a whole number {lo}..{hi}, got {value!r}", what)
    return value


def _live_data(params: dict[str, Any]) -> CommandRequest:
    _no_extra(params, {"enabled", "interval_s", "duration_s"})
    enabled = params.get("enabled")
    if not isinstance(enabled, bool):
        raise CommandError("enabled must be true or false", "enabled")
    if not enabled:
        _no_extra(params, {"enabled"})
        return CommandRequest(CommandKind.LIVE_DATA, {"enabled": False})
    interval = _int(params.get("interval_s", LIVE_INTERVAL_S), "interval_s", 1, 3600)
    duration = _int(params.get("duration_s"), "duration_s", interval, MAX_LIVE_DURATION_S)
    return CommandRequest(
        CommandKind.LIVE_DATA, {"enabled": True, "interval_s": interval, "duration_s": duration}
    )


def _scan(params: dict[str, Any]) -> CommandRequest:
    _no_extra(params, {"unit_ids"})
    if "unit_ids" not in params:
        return CommandRequest(CommandKind.SCAN, {})
    ids = params["unit_ids"]
    if not isinstance(ids, list) or not 1 <= len(ids) <= 247:
        raise CommandError("unit_ids must be a list of 1..247 Modbus unit ids", "unit_ids")
    unit_ids = sorted({_int(i, "unit_ids", 1, 247) for i in ids})
    return CommandRequest(CommandKind.SCAN, {"unit_ids": unit_ids})


def _ref(item: Any, registers: RegisterMap | None, where: str) -> dict[str, Any]:
    """One register reference: ``{"model", "point"}`` or ``{"address", "count"}``."""
    if not isinstance(item, dict):
        raise CommandError(f"{where} must be an object", "points")
    if "model" in item or "point" in item:
        _no_extra(item, {"model", "point"})
        model = _int(item.get("model"), "model", 1, 65535)
        point = item.get("point")
        if not isinstance(point, str) or not point or len(point) > 80:
            raise CommandError(f"{where}: point must be a SunSpec point name", "point")
        if registers is not None and registers.point(model, point) is None:
            raise CommandError(f"{where}: model {model} has no point {point!r}", "point")
        return {"model": model, "point": point}
    _no_extra(item, {"address", "count"})
    address = _int(item.get("address"), "address", 0, 0xFFFF)
    count = _int(item.get("count", 1), "count", 1, MAX_WORDS)
    if registers is not None and registers.parameters and registers.at(address) is None:
        raise CommandError(f"{where}: no register at address {address} in the map", "address")
    return {"address": address, "count": count}


def _register_read(params: dict[str, Any], registers: RegisterMap | None) -> CommandRequest:
    _no_extra(params, {"points"})
    points = params.get("points")
    if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS_PER_READ:
        raise CommandError(
            f"points must be a list of 1..{MAX_POINTS_PER_READ} registers to read", "points"
        )
    refs = [_ref(p, registers, f"points[{i}]") for i, p in enumerate(points)]
    return CommandRequest(CommandKind.REGISTER_READ, {"points": refs})


def _register_write(params: dict[str, Any], registers: RegisterMap | None) -> CommandRequest:
    """SunSpec ``{"model", "point", "value"}`` (checked against the map; the gateway applies
    the scale factor) or vendor ``{"address", "value"}`` (checked and turned into words here)
    or ``{"address", "words"}`` (words checked against the map's range when it has the
    register)."""
    try:
        if "model" in params or "point" in params:
            _no_extra(params, {"model", "point", "value"})
            ref = _ref({k: params.get(k) for k in ("model", "point")}, None, "params")
            p = registers.point(ref["model"], ref["point"]) if registers is not None else None
            if p is None:
                raise CommandError(
                    f"model {ref['model']} has no point {ref['point']!r} in the device's map",
                    "point",
                )
            value = _checked_value(p, params.get("value"))
            return CommandRequest(CommandKind.REGISTER_WRITE, {**ref, "value": value})
        _no_extra(params, {"address", "value", "words"})
        address = _int(params.get("address"), "address", 0, 0xFFFF)
        p = registers.at(address) if registers is not None else None
        if "words" in params:
            if "value" in params:
                raise CommandError("give either value or words, not both", "value")
            words = params["words"]
            if not isinstance(words, list) or not 1 <= len(words) <= MAX_WORDS:
                raise CommandError(f"words must be a list of 1..{MAX_WORDS} registers", "words")
            words = [_int(w, "words", 0, 0xFFFF) for w in words]
            if p is not None:
                if len(words) != p.count:
                    raise CommandError(f"{p.name} takes {p.count} word(s)", "words")
                _checked_value(p, from_words(p, words))
            elif registers is not None and registers.parameters:
                raise CommandError(f"no register at address {address} in the map", "address")
            return CommandRequest(CommandKind.REGISTER_WRITE, {"address": address, "words": words})
        if p is None:
            raise CommandError(
                f"no register at address {address} in the device's map: send words instead",
                "address",
            )
        value = _checked_value(p, params.get("value"))
        return CommandRequest(
            CommandKind.REGISTER_WRITE, {"address": address, "words": to_words(p, value)}
        )
    except RegisterError as exc:
        raise CommandError(str(exc), exc.field) from exc


def _checked_value(p: Parameter, value: Any) -> float | int | str:
    if value is None:
        raise CommandError("value is required", "value")
    v = check_value(p, value)
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _no_extra(params: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(params) - allowed)
    if extra:
        raise CommandError(
            f"unknown parameter(s) {', '.join(extra)}: this kind takes "
            f"{', '.join(sorted(allowed))}",
            extra[0],
        )


def check_ttl(ttl: timedelta) -> timedelta:
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise CommandError(
            f"ttl_s must be {MIN_TTL.total_seconds():g}..{MAX_TTL.total_seconds():g} s", "ttl_s"
        )
    return ttl


# ---- transitions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """Where a command stands: its state and the instants that matter to it."""

    state: CommandState
    not_before: datetime
    expires_at: datetime
    sent_at: datetime | None = None
    replied_at: datetime | None = None
    message: str = ""


def deliverable(c: Status, now: datetime) -> bool:
    """May the command be handed to its gateway now? Queued, due and not expired."""
    return c.state is CommandState.QUEUED and c.not_before <= now < c.expires_at


def sent(c: Status, now: datetime) -> Status:
    """Handed to the gateway. Only a deliverable command can be sent."""
    if not deliverable(c, now):
        raise TransitionError(f"a {c.state.value} command cannot be sent now")
    return Status(CommandState.SENT, c.not_before, c.expires_at, now)


def reply_deadline(c: Status) -> datetime | None:
    """Until when a sent command waits for its reply (None when it was not sent)."""
    if c.sent_at is None:
        return None
    return max(c.expires_at, c.sent_at + REPLY_GRACE)


def replied(c: Status, ok: bool, message: str, now: datetime) -> Status:
    """The gateway's reply: acknowledged or failed. A reply is taken while the command is
    sent (a gateway may also answer a command it got but that the platform had not yet marked,
    i.e. queued); a second reply to a final command is refused."""
    if c.state in FINAL:
        raise TransitionError(f"the command is already {c.state.value}")
    state = CommandState.ACKNOWLEDGED if ok else CommandState.FAILED
    return Status(state, c.not_before, c.expires_at, c.sent_at or now, now, message)


def swept(c: Status, now: datetime) -> Status:
    """The command with time's effect applied: queued past its expiry -> expired; sent and
    unanswered past its reply deadline -> failed. Others unchanged."""
    if c.state is CommandState.QUEUED and now >= c.expires_at:
        return Status(
            CommandState.EXPIRED,
            c.not_before,
            c.expires_at,
            message="not delivered before it expired (is the gateway online?)",
        )
    deadline = reply_deadline(c)
    if c.state is CommandState.SENT and deadline is not None and now >= deadline:
        return Status(
            CommandState.FAILED,
            c.not_before,
            c.expires_at,
            c.sent_at,
            None,
            "no reply from the gateway in time",
        )
    return c


def parse_reply(body: Any) -> tuple[bool, str, dict[str, Any]]:
    """A gateway's reply body ``{"status": "acknowledged" | "failed", "message": "...",
    ...details}`` -> (ok, message, details). ``ok`` / ``accepted`` booleans are understood too,
    and the details may come as a ``details`` object instead, as ``POST .../reply`` takes them,
    so a gateway can send the same body over HTTP and MQTT. ``CommandError`` for a body that
    says neither."""
    if not isinstance(body, dict):
        raise CommandError('a reply must be a JSON object: {"status": "acknowledged" | "failed"}')
    status = body.get("status")
    if status in ("acknowledged", "ack", "ok", "applied"):
        ok = True
    elif status in ("failed", "error", "rejected"):
        ok = False
    elif isinstance(body.get("ok"), bool):
        ok = bool(body["ok"])
    elif isinstance(body.get("accepted"), bool):
        ok = bool(body["accepted"])
    else:
        raise CommandError(
            f'reply status must be "acknowledged" or "failed", got {status!r}', "status"
        )
    message = body.get("message", "")
    message = message if isinstance(message, str) else str(message)
    skip = ("status", "message", "ok", "accepted", "details")
    nested = body.get("details")
    details = dict(nested) if isinstance(nested, dict) else {}
    if nested is not None and not isinstance(nested, dict):
        details["details"] = nested  # not an object: kept as it came
    details.update({k: v for k, v in body.items() if k not in skip})
    return ok, message[:2000], details
