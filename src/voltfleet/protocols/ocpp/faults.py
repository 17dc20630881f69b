"""A charger's faults as the platform's alarms: OCPP 1.6's ChargePointErrorCode (a
StatusNotification with an errorCode other than NoError) to an alarm code of the catalogue
(domain.alarms.CATALOGUE). An error code without one is logged by the platform, not raised: add
its code to domain.alarms and here to make it an alarm. (OCPP 2.0.1 reports faults as a Faulted
connector status, and as NotifyEvent components, which the platform does not read yet.)"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from voltfleet.domain.charging import ConnectorStatus

ALARM_CODES: Mapping[str, str] = MappingProxyType(
    {
        "GroundFailure": "EVC_RESIDUAL_CURRENT",
        "ConnectorLockFailure": "EVC_CONNECTOR_LOCK",
    }
)

# Every alarm a charger's status can raise (a status without an error clears them all).
CHARGER_ALARMS: tuple[str, ...] = tuple(sorted(set(ALARM_CODES.values())))


def is_fault(status: ConnectorStatus, error_code: str) -> bool:
    """A status that should raise an alarm: Faulted, or any error code other than NoError (OCPP
    lets a charger report an error while still Available, as a warning)."""
    return status is ConnectorStatus.FAULTED or error_code not in ("", "NoError")


def alarm_code(error_code: str) -> str | None:
    return ALARM_CODES.get(error_code)
