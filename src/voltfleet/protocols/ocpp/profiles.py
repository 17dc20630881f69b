"""Charging limits (domain.charging_limits) as OCPP charging profiles, both versions, and a
charger's composite schedule back as platform data. Pure: no I/O.

1.6: ChargePointMaxProfile / TxDefaultProfile / TxProfile, ``chargingProfileKind`` Absolute when
the limit has a start, else Relative; 2.0.1: ChargingStationMaxProfile / TxDefaultProfile /
TxProfile, with the schedule in a list and an ``id`` of its own. Limits always in A
(``chargingRateUnit`` "A") with ``numberPhases`` where the limit sets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from voltfleet.domain.charging_limits import ChargingLimit, CompositeSchedule, LimitPeriod, Purpose
from voltfleet.protocols.ocpp.v16_words import parse_timestamp

PURPOSE_16: Mapping[Purpose, str] = {
    Purpose.STATION_MAX: "ChargePointMaxProfile",
    Purpose.TX_DEFAULT: "TxDefaultProfile",
    Purpose.TX: "TxProfile",
}
PURPOSE_201: Mapping[Purpose, str] = {
    Purpose.STATION_MAX: "ChargingStationMaxProfile",
    Purpose.TX_DEFAULT: "TxDefaultProfile",
    Purpose.TX: "TxProfile",
}


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _periods(limit: ChargingLimit) -> list[dict[str, Any]]:
    out = []
    for p in limit.periods:
        period: dict[str, Any] = {"start_period": p.start_s, "limit": round(p.limit_a, 1)}
        if p.phases is not None:
            period["number_phases"] = p.phases
        out.append(period)
    return out


def _schedule(limit: ChargingLimit) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "charging_rate_unit": "A",
        "charging_schedule_period": _periods(limit),
    }
    if limit.duration_s is not None:
        schedule["duration"] = limit.duration_s
    if limit.start is not None:
        schedule["start_schedule"] = _iso(limit.start)
    return schedule


def profile_16(limit: ChargingLimit, transaction_id: int | None = None) -> dict[str, Any]:
    """The csChargingProfiles of a SetChargingProfile (1.6); ``transaction_id``: the charger's
    transaction of a TxProfile."""
    profile: dict[str, Any] = {
        "charging_profile_id": limit.profile_id,
        "stack_level": limit.stack_level,
        "charging_profile_purpose": PURPOSE_16[limit.purpose],
        "charging_profile_kind": "Absolute" if limit.start is not None else "Relative",
        "charging_schedule": _schedule(limit),
    }
    if limit.purpose is Purpose.TX and transaction_id is not None:
        profile["transaction_id"] = transaction_id
    if limit.valid_to is not None:
        profile["valid_to"] = _iso(limit.valid_to)
    return profile


def profile_201(limit: ChargingLimit, transaction_ref: str | None = None) -> dict[str, Any]:
    """The chargingProfile of a SetChargingProfile (2.0.1)."""
    schedule = _schedule(limit) | {"id": limit.profile_id}
    profile: dict[str, Any] = {
        "id": limit.profile_id,
        "stack_level": limit.stack_level,
        "charging_profile_purpose": PURPOSE_201[limit.purpose],
        "charging_profile_kind": "Absolute" if limit.start is not None else "Relative",
        "charging_schedule": [schedule],
    }
    if limit.purpose is Purpose.TX and transaction_ref is not None:
        profile["transaction_id"] = transaction_ref
    if limit.valid_to is not None:
        profile["valid_to"] = _iso(limit.valid_to)
    return profile


def purpose_of(wire: str | None) -> Purpose | None:
    for table in (PURPOSE_16, PURPOSE_201):
        for purpose, word in table.items():
            if word == wire:
                return purpose
    return None


def composite(connector_id: int, schedule: Mapping[str, Any] | None) -> CompositeSchedule | None:
    """A GetCompositeSchedule result's schedule (1.6 ``charging_schedule`` or 2.0.1
    ``schedule``, snake case) as platform data; None when there is none or it is not in A."""
    if not schedule or schedule.get("charging_rate_unit", "A") != "A":
        return None
    start_text = schedule.get("start_schedule") or schedule.get("schedule_start")
    start = parse_timestamp(start_text) if isinstance(start_text, str) else None
    periods = tuple(
        LimitPeriod(int(p.get("start_period", 0)), float(p.get("limit", 0)), p.get("number_phases"))
        for p in schedule.get("charging_schedule_period") or ()
    )
    return CompositeSchedule(connector_id, start, int(schedule.get("duration") or 0), periods)


def limit_from_wire(profile: Mapping[str, Any]) -> ChargingLimit | None:
    """A charging profile as a charger received it (snake case, either version) as a limit in A;
    None when it is not in A or its purpose is unknown (the simulated charger uses this)."""
    purpose = purpose_of(profile.get("charging_profile_purpose"))
    schedule = profile.get("charging_schedule")
    if isinstance(schedule, list):
        schedule = schedule[0] if schedule else None
    if purpose is None or not isinstance(schedule, Mapping):
        return None
    if schedule.get("charging_rate_unit") != "A":
        return None
    start_text = schedule.get("start_schedule")
    tx = profile.get("transaction_id")
    return ChargingLimit(
        profile_id=int(profile.get("charging_profile_id", profile.get("id", 0))),
        purpose=purpose,
        periods=tuple(
            LimitPeriod(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
            for p in schedule.get("charging_schedule_period") or ()
        ),
        stack_level=int(profile.get("stack_level", 0)),
        transaction_id=tx if isinstance(tx, int) else (0 if tx is not None else None),
        start=parse_timestamp(start_text) if isinstance(start_text, str) else None,
        duration_s=schedule.get("duration"),
        valid_to=parse_timestamp(profile["valid_to"]) if profile.get("valid_to") else None,
    )
