"""EV charging in platform terms: a connector's status, the charger's device status derived from
its connectors, and the energy of a charging session. (The words of a charger protocol, e.g.
OCPP 1.6J's, and their translation are in protocols/ocpp/.)

Pure: no I/O, no clock, no framework.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum

from voltfleet.domain.fleet import DeviceStatus

# ---- sessions -----------------------------------------------------------------------------------


def session_energy_wh(meter_start_wh: float, meter_wh: float) -> float | None:
    """The energy charged in a session (Wh) from the register at its start and now (or at its
    stop). None when the register went backwards (a meter replaced or reset): unknown, rather
    than a negative or made-up figure."""
    if not (math.isfinite(meter_start_wh) and math.isfinite(meter_wh)):
        return None
    if meter_wh < meter_start_wh:
        return None
    return meter_wh - meter_start_wh


# ---- connector and charger status ---------------------------------------------------------------


class ConnectorStatus(StrEnum):
    """A connector's status, as stored (the states of OCPP 1.6's ChargePointStatus)."""

    AVAILABLE = "available"
    PREPARING = "preparing"
    CHARGING = "charging"
    SUSPENDED_EVSE = "suspended_evse"
    SUSPENDED_EV = "suspended_ev"
    FINISHING = "finishing"
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"
    UNKNOWN = "unknown"


# A vehicle is connected in these (a session may be running).
OCCUPIED = frozenset(
    {
        ConnectorStatus.PREPARING,
        ConnectorStatus.CHARGING,
        ConnectorStatus.SUSPENDED_EVSE,
        ConnectorStatus.SUSPENDED_EV,
        ConnectorStatus.FINISHING,
    }
)


def charger_status(
    connectors: Iterable[ConnectorStatus], station: ConnectorStatus | None = None
) -> DeviceStatus:
    """The charger's device status from its connectors' statuses and, when just reported, the
    status of the charge point as a whole (OCPP connector 0).

    Faulted anywhere -> fault; a connector charging -> running; everything unavailable ->
    standby; otherwise online.
    """
    seen = list(connectors)
    everything = [*seen, station] if station is not None else seen
    if ConnectorStatus.FAULTED in everything:
        return DeviceStatus.FAULT
    if ConnectorStatus.CHARGING in seen:
        return DeviceStatus.RUNNING
    if everything and all(s is ConnectorStatus.UNAVAILABLE for s in everything):
        return DeviceStatus.STANDBY
    return DeviceStatus.ONLINE
