"""A gateway's own settings (the manual's Gateway > Settings: protocol, forwarding serial port,
TCP forwarding, upload interval, baud rate, reset), each sent as one command kind
(domain/commands.py) with the parameters checked here.

Pure: data in, data out. Every error names the parameter at fault (``GatewaySettingError.field``)
so a form shows it beside the field. The kinds and their parameters (the wire contract):

- ``gateway_protocol``: ``{"devices": [{"address": 1..247, "protocol": <PROTOCOLS>}, ...]}``:
  how the gateway parses each device on its bus (one entry per Modbus address).
- ``serial_forwarding``: ``{"port": 0..7, "baud_rate": <BAUD_RATES>, "parity": "none" | "even" |
  "odd", "stop_bits": 1 | 2, "protocol_type": <FORWARD_PROTOCOLS>, "restart": bool}``.
- ``tcp_forwarding``: ``{"port": 1..65535, "protocol": <TCP_PROTOCOLS>}``.
- ``upload_interval``: ``{"interval_s": <UPLOAD_INTERVALS_S>, "safe_restart": bool}``.
- ``gateway_baud_rate``: ``{"port_type": "RS485" | "RS232", "baud_rate": <BAUD_RATES>,
  "restart": bool}``.
- ``gateway_reset``: ``{"confirm": true}``: the gateway reboots (10-20 s offline).

A gateway acknowledges with the values it applied in the reply's details (``applied``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROTOCOLS = ("ModbusRTU", "SunSpec", "DLT645-2007", "IEC62056-21")
FORWARD_PROTOCOLS = ("ModbusRTU", "ModbusTCP", "Transparent")
TCP_PROTOCOLS = ("ModbusTCP", "Transparent")
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
PARITIES = ("none", "even", "odd")
STOP_BITS = (1, 2)
PORT_TYPES = ("RS485", "RS232")
UPLOAD_INTERVALS_S = (60, 300, 600, 900)
MAX_SERIAL_PORT = 7
MAX_PROTOCOL_DEVICES = 32

GATEWAY_SETTING_KINDS = (
    "gateway_protocol",
    "serial_forwarding",
    "tcp_forwarding",
    "upload_interval",
    "gateway_baud_rate",
    "gateway_reset",
)


class GatewaySettingError(ValueError):
    """A setting that cannot be sent; ``field`` names the parameter at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _only(params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(params) - set(allowed))
    if extra:
        raise GatewaySettingError(
            f"unknown parameter(s) {', '.join(extra)}: this setting takes {', '.join(allowed)}",
            extra[0],
        )


def _whole(params: dict[str, Any], field: str, lo: int, hi: int) -> int:
    value = params.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise GatewaySettingError(
            f"{field} must be a whole number {lo}..{hi}, got {str(value)[:40]!r}", field
        )
    return value


def _choice(params: dict[str, Any], field: str, allowed: tuple[Any, ...]) -> Any:
    value = params.get(field)
    if isinstance(value, bool) or value not in allowed:
        listed = ", ".join(str(a) for a in allowed)
        raise GatewaySettingError(
            f"{field} must be one of {listed}, got {str(value)[:40]!r}", field
        )
    return value


def _flag(params: dict[str, Any], field: str) -> bool:
    value = params.get(field, False)
    if not isinstance(value, bool):
        raise GatewaySettingError(f"{field} must be true or false, got {value!r}", field)
    return value


def _protocol(params: dict[str, Any]) -> dict[str, Any]:
    _only(params, ("devices",))
    devices = params.get("devices")
    if not isinstance(devices, list) or not 1 <= len(devices) <= MAX_PROTOCOL_DEVICES:
        raise GatewaySettingError(
            f"devices must be a list of 1..{MAX_PROTOCOL_DEVICES} address/protocol pairs",
            "devices",
        )
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for item in devices:
        if not isinstance(item, dict):
            raise GatewaySettingError("each device must be {address, protocol}", "devices")
        _only(item, ("address", "protocol"))
        address = _whole(item, "address", 1, 247)
        if address in seen:
            raise GatewaySettingError(f"address {address} is given twice", "address")
        seen.add(address)
        out.append({"address": address, "protocol": _choice(item, "protocol", PROTOCOLS)})
    return {"devices": sorted(out, key=lambda d: d["address"])}


def _serial(params: dict[str, Any]) -> dict[str, Any]:
    _only(params, ("port", "baud_rate", "parity", "stop_bits", "protocol_type", "restart"))
    return {
        "port": _whole(params, "port", 0, MAX_SERIAL_PORT),
        "baud_rate": _choice(params, "baud_rate", BAUD_RATES),
        "parity": _choice(params, "parity", PARITIES),
        "stop_bits": _choice(params, "stop_bits", STOP_BITS),
        "protocol_type": _choice(params, "protocol_type", FORWARD_PROTOCOLS),
        "restart": _flag(params, "restart"),
    }


def _tcp(params: dict[str, Any]) -> dict[str, Any]:
    _only(params, ("port", "protocol"))
    return {
        "port": _whole(params, "port", 1, 65535),
        "protocol": _choice(params, "protocol", TCP_PROTOCOLS),
    }


def _upload(params: dict[str, Any]) -> dict[str, Any]:
    _only(params, ("interval_s", "safe_restart"))
    return {
        "interval_s": _choice(params, "interval_s", UPLOAD_INTERVALS_S),
        "safe_restart": _flag(params, "safe_restart"),
    }


def _baud(params: dict[str, Any]) -> dict[str, Any]:
    _only(params, ("port_type", "baud_rate", "restart"))
    return {
        "port_type": _choice(params, "port_type", PORT_TYPES),
        "baud_rate": _choice(params, "baud_rate", BAUD_RATES),
        "restart": _flag(params, "restart"),
    }


def _reset(params: dict[str, Any]) -> dict[str, Any]:
    _only(params, ("confirm",))
    if params.get("confirm") is not True:
        raise GatewaySettingError(
            "confirm the reset (confirm: true): the gateway reboots", "confirm"
        )
    return {"confirm": True}


CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "gateway_protocol": _protocol,
    "serial_forwarding": _serial,
    "tcp_forwarding": _tcp,
    "upload_interval": _upload,
    "gateway_baud_rate": _baud,
    "gateway_reset": _reset,
}


def check(kind: str, params: Any) -> dict[str, Any]:
    """The normalised parameters of one gateway setting, or ``GatewaySettingError``."""
    if kind not in CHECKS:
        raise GatewaySettingError(f"{kind!r} is not a gateway setting", "kind")
    if not isinstance(params, dict):
        raise GatewaySettingError("params must be an object", "params")
    return CHECKS[kind](params)
