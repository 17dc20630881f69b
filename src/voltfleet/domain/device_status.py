"""A device's status as a transition table: (current status, what happened) -> the new status, or
None when the status stays as it is (and no status-history row is written).

The events are in platform terms, whatever the device speaks (HTTP, MQTT, OCPP):

* ``SPOKE``: a message arrived (readings, a heartbeat, a boot, an "online" word). The presence
  rule: a device that speaks is online, unless it is up already (online, running, standby: it
  keeps that) or faulted (a fault says more than "it speaks", and a faulted charger keeps sending
  meter values; only its own report clears the fault).
* ``SILENT``: no message for the offline threshold (domain.telemetry.presence): an up device goes
  offline; a faulted or never-seen one keeps its status.
* ``DISCONNECTED``: the device said goodbye or its connection ended: offline, from anything.
* ``FAULT_REPORTED`` / ``FAULT_CLEARED``: the device reported a fault, or that it is over.
* ``REPORTED_ONLINE`` / ``REPORTED_RUNNING`` / ``REPORTED_STANDBY``: the device reported what it
  is doing (a charger's connectors: available, charging, all unavailable); such a report is the
  device's own word, so it also ends a fault.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from voltfleet.domain.fleet import UP, DeviceStatus


class StatusEvent(StrEnum):
    SPOKE = "spoke"
    SILENT = "silent"
    DISCONNECTED = "disconnected"
    FAULT_REPORTED = "fault_reported"
    FAULT_CLEARED = "fault_cleared"
    REPORTED_ONLINE = "reported_online"
    REPORTED_RUNNING = "reported_running"
    REPORTED_STANDBY = "reported_standby"


_S = DeviceStatus
_E = StatusEvent


def _build() -> Mapping[tuple[DeviceStatus, StatusEvent], DeviceStatus]:
    table: dict[tuple[DeviceStatus, StatusEvent], DeviceStatus] = {}
    for s in DeviceStatus:
        if s not in UP and s is not _S.FAULT:
            table[(s, _E.SPOKE)] = _S.ONLINE
        if s in UP:
            table[(s, _E.SILENT)] = _S.OFFLINE
        table[(s, _E.DISCONNECTED)] = _S.OFFLINE
        table[(s, _E.FAULT_REPORTED)] = _S.FAULT
        if s is _S.FAULT:
            table[(s, _E.FAULT_CLEARED)] = _S.ONLINE
        table[(s, _E.REPORTED_ONLINE)] = _S.ONLINE
        table[(s, _E.REPORTED_RUNNING)] = _S.RUNNING
        table[(s, _E.REPORTED_STANDBY)] = _S.STANDBY
    # A transition to the status the device has already is no transition.
    return MappingProxyType({k: v for k, v in table.items() if k[0] is not v})


TRANSITIONS: Mapping[tuple[DeviceStatus, StatusEvent], DeviceStatus] = _build()


def transition(current: DeviceStatus, event: StatusEvent) -> DeviceStatus | None:
    """The device's new status after ``event``, or None when it keeps ``current``."""
    return TRANSITIONS.get((current, event))


def after_spoke(current: DeviceStatus) -> DeviceStatus | None:
    """The presence rule, the one every path into the platform follows: a device spoke, so it is
    online, unless it is up already or faulted (then None: it keeps its status)."""
    return TRANSITIONS.get((current, _E.SPOKE))


_REPORTED: Mapping[DeviceStatus, StatusEvent] = MappingProxyType(
    {
        _S.FAULT: _E.FAULT_REPORTED,
        _S.ONLINE: _E.REPORTED_ONLINE,
        _S.RUNNING: _E.REPORTED_RUNNING,
        _S.STANDBY: _E.REPORTED_STANDBY,
        _S.OFFLINE: _E.DISCONNECTED,
    }
)


def reported(status: DeviceStatus) -> StatusEvent:
    """The event of a device reporting ``status`` itself (e.g. derived from a charger's
    connectors); UNKNOWN is not something a device reports (ValueError)."""
    try:
        return _REPORTED[status]
    except KeyError:
        raise ValueError(f"a device does not report {status.value!r}") from None
