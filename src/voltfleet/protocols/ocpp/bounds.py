"""Plausible ranges for the numbers a charger sends, checked before the platform sees them.

OCPP 1.6's JSON schemas say only "integer": a connectorId of 2**31 or a meterStart of 2**63 - 1
pass them, then overflow a database column or open a session on a connector that does not
exist. Out of range is answered with a CALLERROR PropertyConstraintViolation.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocpp.exceptions import PropertyConstraintViolationError  # type: ignore[import-untyped]

INT32_MAX = 2**31 - 1  # OCPP's integer fields (transactionId ...) are signed 32-bit
MAX_METER_WH = 10**12 - 1  # a register of 1 TWh: no charger's meter gets there


@dataclass(frozen=True)
class Bounds:
    max_connector_id: int = 8  # connectors 1..N; 0 is the charge point as a whole
    max_meter_wh: int = MAX_METER_WH


def check_range(value: int, field: str, lo: int, hi: int) -> int:
    """``value`` when ``lo <= value <= hi``; else a PropertyConstraintViolation naming the field."""
    if not lo <= value <= hi:
        raise PropertyConstraintViolationError(
            details={"cause": f"{field} {value} is outside {lo}..{hi}"}
        )
    return value
