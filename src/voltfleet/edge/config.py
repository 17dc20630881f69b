"""The edge agent's configuration: a TOML file (``[edge]`` table), overridden by command-line
flags. See docs/edge-agent.md."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voltfleet.domain.tariffs.holidays_calendar import is_supported_region
from voltfleet.protocols.modbus.link import LinkConfig


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class EdgeConfig:
    serial: str  # the gateway's serial number (its MQTT username)
    token: str  # the gateway token the platform issued (POST /api/v1/devices/{id}/token)
    broker_url: str = ""  # mqtt://host:1883 ...
    platform_url: str = ""  # ... or https://voltfleet.example (HTTP ingest and command polling)
    modbus: LinkConfig = field(default_factory=lambda: LinkConfig(host="127.0.0.1"))
    unit_ids: tuple[int, ...] = (1, 2, 3)
    poll_s: float = 10.0  # how often every device is read
    outbox: Path = Path("voltfleet-edge-outbox.sqlite3")
    batch_readings: int = 2000  # readings in one message (one PUBACK)
    rescan_s: float = 3600.0  # look for devices again (new ones, replaced ones)
    command_poll_s: float = 5.0  # HTTP only: how often commands are fetched
    connections: int = 1  # Modbus TCP: connections polling the devices side by side
    zone: str = "UTC"  # the site's time zone (IANA): the clock a TOU table runs on
    country: str = ""  # the site's country (ISO 3166-1 alpha-2): a TOU table's public holidays
    subdivision: str = ""  # its state or region where holidays differ (e.g. BY in DE)

    def check(self) -> EdgeConfig:
        if not self.serial or not self.token:
            raise ConfigError("serial and token are required (the gateway's credential)")
        if bool(self.broker_url) == bool(self.platform_url):
            raise ConfigError("give exactly one of broker_url (MQTT) or platform_url (HTTP)")
        if not self.modbus.host and not self.modbus.serial_port:
            raise ConfigError("give modbus_host (Modbus TCP) or serial_port (Modbus RTU)")
        if not self.unit_ids or not all(1 <= u <= 247 for u in self.unit_ids):
            raise ConfigError("unit_ids must be Modbus unit ids 1..247")
        if not 0 <= self.poll_s <= 3600:
            raise ConfigError("poll_s must be 0..3600 seconds")
        if not 1 <= self.connections <= 16 or (self.connections > 1 and self.modbus.serial_port):
            raise ConfigError("connections must be 1..16 (1 on a serial port)")
        if not 1 <= self.batch_readings <= 20_000:
            raise ConfigError("batch_readings must be 1..20000")
        if (self.country or self.subdivision) and not is_supported_region(
            self.country, self.subdivision or None
        ):
            raise ConfigError(
                f"country/subdivision {self.country!r}/{self.subdivision!r} has no public "
                "holiday calendar (ISO codes, e.g. DE and BY)"
            )
        try:
            ZoneInfo(self.zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ConfigError(f"zone must be an IANA time zone, got {self.zone!r}") from None
        return self


_MODBUS_KEYS = {
    "modbus_host": "host",
    "modbus_port": "port",
    "serial_port": "serial_port",
    "baudrate": "baudrate",
    "parity": "parity",
    "stopbits": "stopbits",
    "modbus_timeout_s": "timeout_s",
}


def from_mapping(values: dict[str, Any]) -> EdgeConfig:
    """A configuration from flat keys (the TOML ``[edge]`` table or the flags)."""
    known = {f.name for f in fields(EdgeConfig)} | set(_MODBUS_KEYS)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    modbus = LinkConfig(
        **{_MODBUS_KEYS[k]: v for k, v in values.items() if k in _MODBUS_KEYS and v is not None}
    )
    if not modbus.serial_port and not modbus.host:
        modbus = replace(modbus, host="127.0.0.1")
    rest: dict[str, Any] = {
        k: v for k, v in values.items() if k not in _MODBUS_KEYS and v is not None
    }
    if "unit_ids" in rest:
        rest["unit_ids"] = parse_units(rest["unit_ids"])
    if "outbox" in rest:
        rest["outbox"] = Path(rest["outbox"])
    try:
        return EdgeConfig(modbus=modbus, **rest).check()
    except TypeError as exc:
        raise ConfigError(str(exc)) from exc


def parse_units(value: Any) -> tuple[int, ...]:
    """``[1, 2, 3]``, ``"1,2,3"`` or ``"1-3"`` -> (1, 2, 3)."""
    if isinstance(value, list | tuple):
        return tuple(int(v) for v in value)
    out: list[int] = []
    for part in str(value).split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            out += range(int(lo), int(hi) + 1)
        elif part:
            out.append(int(part))
    return tuple(out)


def load(path: Path | None, overrides: dict[str, Any]) -> EdgeConfig:
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        values.update(data.get("edge", data))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return from_mapping(values)
