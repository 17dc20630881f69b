"""Firmware releases: the firmware types, version order, the "NEW" mark and the checks on an
upload. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Firmware types by device kind. Vendor-specific types are data: any lower-case word
# ``vendor_<name>`` is taken too (e.g. ``vendor_senergy_csb``).
GATEWAY_TYPES = ("gateway",)
CHARGER_TYPES = ("charger",)  # a charger's one firmware, installed over OCPP UpdateFirmware
INVERTER_TYPES = ("lcd", "dsp", "secondary_dsp", "trip_board", "exhmi", "arc", "bms")
TYPE_LABELS = {
    "gateway": "Gateway",
    "charger": "Charger",
    "lcd": "LCD",
    "dsp": "DSP",
    "secondary_dsp": "Secondary DSP",
    "trip_board": "Trip board",
    "exhmi": "EXHMI",
    "arc": "ARC",
    "bms": "BMS",
}
_VENDOR = re.compile(r"^vendor_[a-z0-9_]{1,40}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,39}$")
MAX_FILE_BYTES = 64 * 1024 * 1024


class ReleaseError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def device_kind_of(firmware_type: str) -> str:
    """The device kind a firmware type installs on: gateway, charger or inverter (vendor types
    go to inverters). ``ReleaseError`` for an unknown type."""
    if firmware_type in GATEWAY_TYPES:
        return "gateway"
    if firmware_type in CHARGER_TYPES:
        return "charger"
    if firmware_type in INVERTER_TYPES or _VENDOR.match(firmware_type):
        return "inverter"
    known = ", ".join(GATEWAY_TYPES + CHARGER_TYPES + INVERTER_TYPES)
    raise ReleaseError(
        f"unknown firmware type {firmware_type!r}: one of {known}, or vendor_<name>",
        "firmware_type",
    )


def label(firmware_type: str) -> str:
    if firmware_type in TYPE_LABELS:
        return TYPE_LABELS[firmware_type]
    return firmware_type.removeprefix("vendor_").replace("_", " ").title()


def check_version(version: str) -> str:
    v = version.strip()
    if not _VERSION.match(v):
        raise ReleaseError(
            "version must be 1-40 letters, digits, dots, dashes, + or _ (e.g. 10.00 or 8.12.E3)",
            "version",
        )
    return v


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """An order on versions: dotted parts compared as numbers when numeric (so 10.00 > 9.02),
    else as text (8.12.E3 > 8.12.E2); numbers sort before text in the same place."""
    parts = re.split(r"[.\-+_]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts)


def is_downgrade(current: str, target: str) -> bool:
    """Would installing ``target`` over ``current`` go back? Unknown current: no."""
    if not current:
        return False
    return version_key(target) < version_key(current)


@dataclass(frozen=True)
class ReleaseRef:
    id: str
    model: str
    firmware_type: str
    version: str


def newest(releases: Iterable[ReleaseRef]) -> set[str]:
    """The ids of the releases marked NEW: the highest version per model and firmware type."""
    best: dict[tuple[str, str], ReleaseRef] = {}
    for r in releases:
        key = (r.model, r.firmware_type)
        if key not in best or version_key(r.version) > version_key(best[key].version):
            best[key] = r
    return {r.id for r in best.values()}
