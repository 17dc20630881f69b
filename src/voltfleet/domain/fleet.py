"""Sites and devices as data: kinds, statuses, live data capability, site status, region defaults.

Pure functions only: no I/O, no clock, no framework.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class DeviceKind(StrEnum):
    GATEWAY = "gateway"  # dongle / data logger
    INVERTER = "inverter"
    BATTERY = "battery"
    METER = "meter"
    CHARGER = "charger"


# The variants of each kind; the first is the default.
SUBTYPES: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.GATEWAY: ("wifi", "4g", "ethernet", "datahub"),
    DeviceKind.INVERTER: ("hybrid", "pv", "micro"),
    DeviceKind.BATTERY: ("lfp", "nmc", "other"),
    DeviceKind.METER: ("grid", "pv", "load", "other"),
    DeviceKind.CHARGER: ("ac", "dc"),
}

# Which kinds may hang below which (the topology): gateway > inverter > battery/meter.
PARENTS: dict[DeviceKind, frozenset[DeviceKind | None]] = {
    DeviceKind.GATEWAY: frozenset({None}),
    DeviceKind.INVERTER: frozenset({None, DeviceKind.GATEWAY}),
    DeviceKind.BATTERY: frozenset({None, DeviceKind.GATEWAY, DeviceKind.INVERTER}),
    DeviceKind.METER: frozenset({None, DeviceKind.GATEWAY, DeviceKind.INVERTER}),
    DeviceKind.CHARGER: frozenset({None, DeviceKind.GATEWAY}),
}


class DeviceStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    FAULT = "fault"
    STANDBY = "standby"
    RUNNING = "running"
    UNKNOWN = "unknown"


UP = frozenset({DeviceStatus.ONLINE, DeviceStatus.RUNNING, DeviceStatus.STANDBY})


class SiteStatus(StrEnum):
    ONLINE = "online"  # at least one device up and none faulty
    OFFLINE = "offline"  # no device up (all offline or unknown), none faulty
    ABNORMAL = "abnormal"  # at least one device faulty, or an active major alarm
    NO_DEVICE = "no_device"  # nothing bound yet


def site_status(statuses: Iterable[str], *, major_alarm: bool = False) -> SiteStatus:
    """The status of a site from the statuses of its devices (and whether one of them has an
    active major alarm)."""
    seen = [DeviceStatus(s) for s in statuses]
    if not seen:
        return SiteStatus.NO_DEVICE
    if DeviceStatus.FAULT in seen or major_alarm:
        return SiteStatus.ABNORMAL
    if any(s in UP for s in seen):
        return SiteStatus.ONLINE
    return SiteStatus.OFFLINE


def site_status_for_day(device_statuses: Iterable[Iterable[str]]) -> SiteStatus:
    """A site's status over a day, from every status each device had during that day.

    Abnormal when any device was faulty at some point of the day; online when at least one device
    was up at some point; offline otherwise.
    """
    flat: list[str] = []
    any_device = False
    for statuses in device_statuses:
        any_device = True
        flat.extend(statuses)
    if not any_device:
        return SiteStatus.NO_DEVICE
    return site_status(flat or [DeviceStatus.OFFLINE])


# ---- live data (10-second refresh) ----------------------------------------------------------


class LiveData(StrEnum):
    SUPPORTED = "supported"
    FIRMWARE_TOO_OLD = "firmware_too_old"  # gateway type supported, firmware not yet
    GATEWAY_UNSUPPORTED = "gateway_unsupported"  # recommend another dongle type
    MICRO_INVERTER = "micro_inverter"  # never
    DATAHUB = "datahub"  # never
    NO_GATEWAY = "no_gateway"  # not connected through a gateway


LIVE_DATA_REASONS: dict[LiveData, str] = {
    LiveData.SUPPORTED: "supported",
    LiveData.FIRMWARE_TOO_OLD: "gateway type supported, but its firmware is too old: upgrade it",
    LiveData.GATEWAY_UNSUPPORTED: "the gateway type does not support live data: use a Wi-Fi or "
    "Ethernet gateway",
    LiveData.MICRO_INVERTER: "micro inverters do not support live data",
    LiveData.DATAHUB: "data hubs do not support live data",
    LiveData.NO_GATEWAY: "not connected through a gateway",
}

# Gateway type -> the oldest ARM firmware that streams 10-second data.
LIVE_DATA_MIN_FIRMWARE: dict[str, tuple[int, ...]] = {
    "wifi": (3, 0),
    "ethernet": (2, 0),
}


def parse_version(text: str) -> tuple[int, ...] | None:
    """'V3.10.2' -> (3, 10, 2); None when there is no number in it."""
    numbers = re.findall(r"\d+", text or "")
    return tuple(int(n) for n in numbers) if numbers else None


def gateway_live_data(gateway_type: str, firmware: str) -> LiveData:
    if gateway_type == "datahub":
        return LiveData.DATAHUB
    minimum = LIVE_DATA_MIN_FIRMWARE.get(gateway_type)
    if minimum is None:
        return LiveData.GATEWAY_UNSUPPORTED
    version = parse_version(firmware)
    if version is None or version < minimum:
        return LiveData.FIRMWARE_TOO_OLD
    return LiveData.SUPPORTED


def live_data(
    kind: str, subtype: str, firmware: str, gateway: tuple[str, str] | None = None
) -> LiveData:
    """Can this device deliver 10-second live data?

    ``gateway`` is (type, firmware) of the gateway it reports through, if any. Chargers speak OCPP
    to the platform directly and are always supported.
    """
    if kind == DeviceKind.GATEWAY:
        return gateway_live_data(subtype, firmware)
    if kind == DeviceKind.INVERTER and subtype == "micro":
        return LiveData.MICRO_INVERTER
    if kind == DeviceKind.CHARGER:
        return LiveData.SUPPORTED
    if gateway is None:
        return LiveData.NO_GATEWAY
    return gateway_live_data(*gateway)


# ---- region defaults ------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionDefaults:
    timezone: str
    currency: str
    temperature_unit: str = "C"


REGION_DEFAULTS: dict[str, RegionDefaults] = {
    "DE": RegionDefaults("Europe/Berlin", "EUR"),
    "AT": RegionDefaults("Europe/Vienna", "EUR"),
    "CH": RegionDefaults("Europe/Zurich", "CHF"),
    "NL": RegionDefaults("Europe/Amsterdam", "EUR"),
    "BE": RegionDefaults("Europe/Brussels", "EUR"),
    "LU": RegionDefaults("Europe/Luxembourg", "EUR"),
    "FR": RegionDefaults("Europe/Paris", "EUR"),
    "ES": RegionDefaults("Europe/Madrid", "EUR"),
    "PT": RegionDefaults("Europe/Lisbon", "EUR"),
    "IT": RegionDefaults("Europe/Rome", "EUR"),
    "IE": RegionDefaults("Europe/Dublin", "EUR"),
    "GB": RegionDefaults("Europe/London", "GBP"),
    "DK": RegionDefaults("Europe/Copenhagen", "DKK"),
    "SE": RegionDefaults("Europe/Stockholm", "SEK"),
    "NO": RegionDefaults("Europe/Oslo", "NOK"),
    "FI": RegionDefaults("Europe/Helsinki", "EUR"),
    "PL": RegionDefaults("Europe/Warsaw", "PLN"),
    "CZ": RegionDefaults("Europe/Prague", "CZK"),
    "HU": RegionDefaults("Europe/Budapest", "HUF"),
    "GR": RegionDefaults("Europe/Athens", "EUR"),
    "US": RegionDefaults("America/Chicago", "USD", "F"),
    "CA": RegionDefaults("America/Toronto", "CAD"),
    "MX": RegionDefaults("America/Mexico_City", "MXN"),
    "BR": RegionDefaults("America/Sao_Paulo", "BRL"),
    "AU": RegionDefaults("Australia/Sydney", "AUD"),
    "NZ": RegionDefaults("Pacific/Auckland", "NZD"),
    "ZA": RegionDefaults("Africa/Johannesburg", "ZAR"),
    "JP": RegionDefaults("Asia/Tokyo", "JPY"),
    "CN": RegionDefaults("Asia/Shanghai", "CNY"),
    "IN": RegionDefaults("Asia/Kolkata", "INR"),
}


def region_defaults(country: str) -> RegionDefaults:
    return REGION_DEFAULTS.get(country.upper(), RegionDefaults("UTC", "EUR"))


def normalise_serial(serial: str) -> str:
    """Serial numbers compare without surrounding blanks and case."""
    return serial.strip().upper()


# ---- which devices sit below a credential ---------------------------------------------------


class Placed(Protocol):
    """What ``family`` needs of a device."""

    @property
    def id(self) -> str: ...
    @property
    def serial(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...


D = TypeVar("D", bound=Placed)


def family(root: D, site_devices: Iterable[D]) -> tuple[dict[str, D], dict[str, D]]:
    """(the devices a credential may speak for: ``root`` and every device below it; the other
    devices of its site), each keyed by id and by serial. A gateway's (or a charger's) identity
    comes from its credential: a reading or an event names a device of the first map, or is
    refused (naming one of the second: a foreign device; neither: an unknown one)."""
    devices = list(site_devices)
    children: dict[str | None, list[D]] = {}
    for d in devices:
        children.setdefault(d.parent_id, []).append(d)
    below: dict[str, D] = {}
    todo = [root]
    while todo:
        d = todo.pop()
        if d.id in below:
            continue
        below[d.id] = d
        todo.extend(children.get(d.id, []))
    mine = {**{d.serial: d for d in below.values()}, **below}
    others = {d.serial: d for d in devices if d.id not in below}
    others.update({d.id: d for d in devices if d.id not in below})
    return mine, others


def zone(name: str) -> ZoneInfo:
    """A site's time zone by its IANA name (UTC when the name is not one)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
