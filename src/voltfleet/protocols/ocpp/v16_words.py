"""The words of OCPP 1.6J and what they mean on the platform: meter samples (measurands, units,
phases, formats) to telemetry points, ChargePointStatus strings to connector statuses, error
codes to faults, OCPP timestamps to instants.

Pure: no I/O, no clock, no framework. The platform's side is in platform terms: the points of the
telemetry catalogue (domain.telemetry.points) in their canonical units (W, Wh, A, V, a fraction
for the state of charge), and domain.charging's connector statuses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from voltfleet.domain.charging import ConnectorStatus
from voltfleet.domain.instants import InstantError, read_instant
from voltfleet.protocols.ocpp.faults import is_fault as is_fault  # re-exported (its old home)

# ---- meter samples ------------------------------------------------------------------------------

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
SOC = "SoC"


@dataclass(frozen=True)
class Sample:
    """One OCPP 1.6 SampledValue, as sent (absent optional fields are None)."""

    value: str
    measurand: str | None = None  # absent: Energy.Active.Import.Register (OCPP 1.6, 7.45)
    unit: str | None = None  # absent: the measurand's default unit (Wh for energy ...)
    phase: str | None = None
    context: str | None = None
    format: str | None = None  # "Raw" (absent) or "SignedData"
    location: str | None = None


@dataclass(frozen=True)
class MeterSample:
    """One OCPP 1.6 MeterValue: samples taken at the same instant (``timestamp`` as sent)."""

    timestamp: str
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class Mapped:
    """A sample as a telemetry reading. ``value`` is a number in the point's canonical ``unit``;
    when the sample cannot be converted (not a number, a unit the measurand does not take) it is
    the text and unit as sent, so the ingest pipeline quarantines it with its reason."""

    point: str
    value: float | str
    unit: str


@dataclass(frozen=True)
class Skipped:
    """A sample the platform does not store (a measurand without a catalogue point, a signed
    value, a line-to-line voltage ...), with the reason."""

    sample: Sample
    reason: str


@dataclass(frozen=True)
class _Measurand:
    point: str  # the point of a sample without a phase
    canonical: str  # its canonical unit
    units: Mapping[str, float]  # OCPP unit -> factor to the canonical unit
    default_unit: str
    phased: str | None = None  # per-phase point, with "{n}" for the phase number


_MEASURANDS: Mapping[str, _Measurand] = MappingProxyType(
    {
        ENERGY_REGISTER: _Measurand("ev_energy_wh", "Wh", {"Wh": 1.0, "kWh": 1000.0}, "Wh"),
        POWER: _Measurand("ev_power_w", "W", {"W": 1.0, "kW": 1000.0}, "W"),
        CURRENT: _Measurand("ev_current_a", "A", {"A": 1.0}, "A", "ev_current_l{n}_a"),
        VOLTAGE: _Measurand("ev_voltage_v", "V", {"V": 1.0}, "V", "ev_voltage_l{n}_v"),
        SOC: _Measurand("ev_soc", "fraction", {"Percent": 0.01}, "Percent"),
    }
)

# Phase to line number: a line (L1) or a line to neutral (L1-N) both name line 1.
_LINES: Mapping[str, int] = MappingProxyType(
    {"L1": 1, "L2": 2, "L3": 3, "L1-N": 1, "L2-N": 2, "L3-N": 3}
)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def map_sample(sample: Sample) -> Mapped | Skipped:
    """The telemetry reading for one sample, or why it is not stored.

    Energy and power are stored as the charger's totals: a per-phase energy register is skipped,
    per-phase power is summed by ``map_meter_value`` when no total is sent. Current and voltage
    are stored per line (L1, L2, L3; L1-N counts as L1); without a phase, as the charger's single
    value. The state of charge (percent on the wire) is stored as a fraction.
    """
    measurand = sample.measurand or ENERGY_REGISTER
    spec = _MEASURANDS.get(measurand)
    if spec is None:
        return Skipped(sample, f"{measurand} is not stored")
    if (sample.format or "Raw") != "Raw":
        return Skipped(sample, f"{sample.format} values are not decoded")
    point = spec.point
    if sample.phase is not None and measurand != SOC:
        line = _LINES.get(sample.phase)
        if spec.phased is None or line is None:
            what = "per-phase" if line is not None else f"phase {sample.phase}"
            return Skipped(sample, f"{measurand} {what} is not stored")
        point = spec.phased.format(n=line)
    unit = sample.unit or spec.default_unit
    factor = spec.units.get(unit)
    value = _number(sample.value)
    if factor is None or value is None:
        return Mapped(point, sample.value, unit)  # quarantined by the ingest pipeline
    return Mapped(point, value * factor, spec.canonical)


def map_meter_value(samples: Sequence[Sample]) -> tuple[list[Mapped], list[Skipped]]:
    """The readings of one MeterValue (one instant), and the samples not stored.

    Without a total power, the per-phase powers (all numbers, in W or kW) add up to it. Of two
    samples for the same point (a charger sending a value at the outlet and at the inlet), the
    first is kept.
    """
    mapped: list[Mapped] = []
    skipped: list[Skipped] = []
    phase_power: list[Sample] = []
    for s in samples:
        if (s.measurand or ENERGY_REGISTER) == POWER and s.phase in _LINES:
            phase_power.append(s)
            continue
        out = map_sample(s)
        if isinstance(out, Mapped):
            mapped.append(out)
        else:
            skipped.append(out)
    if phase_power:
        total = _sum_power(phase_power)
        if total is None or any(m.point == "ev_power_w" for m in mapped):
            reason = "the total power is sent" if total is not None else "a phase is not a number"
            skipped.extend(Skipped(s, f"per-phase power not summed: {reason}") for s in phase_power)
        else:
            mapped.append(Mapped("ev_power_w", total, "W"))
    seen: set[str] = set()
    unique: list[Mapped] = []
    for m in mapped:
        if m.point not in seen:
            seen.add(m.point)
            unique.append(m)
    return unique, skipped


def _sum_power(samples: Iterable[Sample]) -> float | None:
    total = 0.0
    for s in samples:
        factor = _MEASURANDS[POWER].units.get(s.unit or "W")
        value = _number(s.value)
        if factor is None or value is None:
            return None
        total += value * factor
    return total


def register_wh(samples: Iterable[Sample]) -> float | None:
    """The energy register (Wh) among a MeterValue's samples, if one is there and readable."""
    for s in samples:
        if (s.measurand or ENERGY_REGISTER) == ENERGY_REGISTER and s.phase is None:
            m = map_sample(s)
            if isinstance(m, Mapped) and isinstance(m.value, float):
                return m.value
    return None


def power_w(samples: Sequence[Sample]) -> float | None:
    """The charging power (W) among a MeterValue's samples (summed over phases if need be)."""
    mapped, _ = map_meter_value(samples)
    for m in mapped:
        if m.point == "ev_power_w" and isinstance(m.value, float):
            return m.value
    return None


def parse_timestamp(text: str) -> datetime | None:
    """An OCPP timestamp (ISO 8601 with an offset or Z; the offset kept); None when it is not
    one, is naive, or lies outside the supported range (the one parser: domain.instants)."""
    try:
        ts = read_instant(text)
    except InstantError:
        return None
    return ts if ts.utcoffset() is not None else None


_WIRE_STATUS: Mapping[str, ConnectorStatus] = MappingProxyType(
    {
        "Available": ConnectorStatus.AVAILABLE,
        "Preparing": ConnectorStatus.PREPARING,
        "Charging": ConnectorStatus.CHARGING,
        "SuspendedEVSE": ConnectorStatus.SUSPENDED_EVSE,
        "SuspendedEV": ConnectorStatus.SUSPENDED_EV,
        "Finishing": ConnectorStatus.FINISHING,
        "Reserved": ConnectorStatus.RESERVED,
        "Unavailable": ConnectorStatus.UNAVAILABLE,
        "Faulted": ConnectorStatus.FAULTED,
    }
)


def connector_status(wire: str) -> ConnectorStatus:
    """The stored status for an OCPP 1.6 status string (UNKNOWN for anything else)."""
    return _WIRE_STATUS.get(wire, ConnectorStatus.UNKNOWN)
