"""The words of OCPP 2.0.1 and what they mean on the platform: connector statuses and charging
states to connector statuses, sampled values (numbers with a unit of measure and a power-of-ten
multiplier) to the meter samples the 1.6 translation already maps to telemetry points
(``v16_words``: the measurands, units and phases are spelled the same in both versions),
stopped reasons to the platform's stop reasons.

Pure: no I/O, no clock, no framework.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from voltfleet.domain.charging import ConnectorStatus
from voltfleet.protocols.ocpp.v16_words import MeterSample, Sample, register_wh

SUBPROTOCOL = "ocpp2.0.1"

# ConnectorStatusEnumType: "Occupied" says a car is plugged in, not whether it charges (that is
# the transaction's chargingState); it is Preparing until a TransactionEvent tells more.
_WIRE_STATUS: Mapping[str, ConnectorStatus] = MappingProxyType(
    {
        "Available": ConnectorStatus.AVAILABLE,
        "Occupied": ConnectorStatus.PREPARING,
        "Reserved": ConnectorStatus.RESERVED,
        "Unavailable": ConnectorStatus.UNAVAILABLE,
        "Faulted": ConnectorStatus.FAULTED,
    }
)

# ChargingStateEnumType of a transaction.
_CHARGING_STATE: Mapping[str, ConnectorStatus] = MappingProxyType(
    {
        "Charging": ConnectorStatus.CHARGING,
        "EVConnected": ConnectorStatus.PREPARING,
        "SuspendedEV": ConnectorStatus.SUSPENDED_EV,
        "SuspendedEVSE": ConnectorStatus.SUSPENDED_EVSE,
        "Idle": ConnectorStatus.AVAILABLE,
    }
)


def connector_status(wire: str) -> ConnectorStatus:
    """The stored status for a 2.0.1 connector status (UNKNOWN for anything else)."""
    return _WIRE_STATUS.get(wire, ConnectorStatus.UNKNOWN)


def charging_state(wire: str | None) -> ConnectorStatus | None:
    """The connector's status for a transaction's chargingState, if it says one."""
    return _CHARGING_STATE.get(wire) if wire else None


def _value_text(value: Any, multiplier: int) -> str:
    """The value as text, times 10**multiplier (the library reads JSON numbers as Decimal)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    scaled = float(value) * 10.0**multiplier
    return repr(scaled) if math.isfinite(scaled) else str(value)


def meter_samples(meter_value: Sequence[Mapping[str, Any]] | None) -> tuple[MeterSample, ...]:
    """2.0.1 MeterValueType payloads (snake case) as meter samples: the multiplier applied to
    the value, the unit of measure's unit as the sample's unit, a signed value marked as such
    (not decoded)."""
    out = []
    for mv in meter_value or ():
        samples = []
        for sv in mv.get("sampled_value") or ():
            uom = sv.get("unit_of_measure") or {}
            multiplier = uom.get("multiplier", 0)
            if not isinstance(multiplier, int) or isinstance(multiplier, bool):
                multiplier = 0
            samples.append(
                Sample(
                    value=_value_text(sv.get("value"), multiplier),
                    measurand=sv.get("measurand"),
                    unit=uom.get("unit"),
                    phase=sv.get("phase"),
                    context=sv.get("context"),
                    format="SignedData" if sv.get("signed_meter_value") else None,
                    location=sv.get("location"),
                )
            )
        out.append(MeterSample(str(mv.get("timestamp", "")), tuple(samples)))
    return tuple(out)


def last_register_wh(values: Sequence[MeterSample]) -> int | None:
    """The energy register (Wh, rounded down) of the last MeterValue that has one."""
    for mv in reversed(values):
        wh = register_wh(mv.samples)
        if wh is not None and math.isfinite(wh):
            return int(wh)
    return None


# StoppedReasonEnumType -> the stop reasons the platform stores (1.6's Reason words, which the
# sessions list shows): the same word where 1.6 has it.
_STOPPED: Mapping[str, str] = MappingProxyType(
    {
        "DeAuthorized": "DeAuthorized",
        "EmergencyStop": "EmergencyStop",
        "EVDisconnected": "EVDisconnected",
        "HardReset": "HardReset",
        "Local": "Local",
        "PowerLoss": "PowerLoss",
        "Reboot": "Reboot",
        "Remote": "Remote",
        "SoftReset": "SoftReset",
        "UnlockCommand": "UnlockCommand",
    }
)


def stop_reason(wire: str | None) -> str:
    """The stored stop reason ("Local" when none is given; "Other" for a 2.0.1-only word)."""
    if not wire:
        return "Local"
    return _STOPPED.get(wire, "Other")
