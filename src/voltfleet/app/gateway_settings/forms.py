"""The Gateway settings forms turned into command parameters (domain/gateway_settings.py checks
them). A form sends text: numbers become whole numbers here, anything unreadable is named by its
field, and the domain decides what is in range."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voltfleet.domain.gateway_settings import GatewaySettingError


def _whole(form: Mapping[str, str], field: str) -> int:
    raw = form.get(field, "").strip()
    try:
        return int(raw)
    except ValueError:
        raise GatewaySettingError(f"{field} must be a whole number, got {raw!r}", field) from None


def _flag(form: Mapping[str, str], field: str) -> bool:
    return form.get(field) in ("on", "true", "1")


def protocol(form: Mapping[str, str]) -> dict[str, Any]:
    """Rows ``address0``/``protocol0`` .. (blank rows left out)."""
    devices = []
    for i in range(8):
        address = form.get(f"address{i}", "").strip()
        if not address:
            continue
        devices.append(
            {"address": _whole(form, f"address{i}"), "protocol": form.get(f"protocol{i}", "")}
        )
    return {"devices": devices}


def serial_forwarding(form: Mapping[str, str]) -> dict[str, Any]:
    return {
        "port": _whole(form, "port"),
        "baud_rate": _whole(form, "baud_rate"),
        "parity": form.get("parity", ""),
        "stop_bits": _whole(form, "stop_bits"),
        "protocol_type": form.get("protocol_type", ""),
        "restart": _flag(form, "restart"),
    }


def tcp_forwarding(form: Mapping[str, str]) -> dict[str, Any]:
    return {"port": _whole(form, "port"), "protocol": form.get("protocol", "")}


def upload_interval(form: Mapping[str, str]) -> dict[str, Any]:
    return {"interval_s": _whole(form, "interval_s"), "safe_restart": _flag(form, "safe_restart")}


def baud_rate(form: Mapping[str, str]) -> dict[str, Any]:
    return {
        "port_type": form.get("port_type", ""),
        "baud_rate": _whole(form, "baud_rate"),
        "restart": _flag(form, "restart"),
    }


def reset(form: Mapping[str, str]) -> dict[str, Any]:
    return {"confirm": _flag(form, "confirm")}


BUILDERS: dict[str, Callable[[Mapping[str, str]], dict[str, Any]]] = {
    "gateway_protocol": protocol,
    "serial_forwarding": serial_forwarding,
    "tcp_forwarding": tcp_forwarding,
    "upload_interval": upload_interval,
    "gateway_baud_rate": baud_rate,
    "gateway_reset": reset,
    "scan": lambda form: {},  # auto-detect: the gateway scans its whole bus
}
