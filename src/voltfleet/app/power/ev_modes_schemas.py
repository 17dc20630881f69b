"""Departure times and 1p/3p switching over HTTP (docs/power-management.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field


class DepartureIn(BaseModel):
    departure_at: AwareDatetime = Field(
        description="when the car leaves (ISO 8601 with its offset, e.g. 2026-12-06T17:30+01:00)"
    )
    energy_need_kwh: float = Field(
        gt=0, le=500, description="the energy the session should have charged by then (kWh)"
    )


class DepartureOut(BaseModel):
    session_id: str
    charger_serial: str
    connector_no: int
    departure_at: datetime | None = Field(description="UTC")
    energy_need_kwh: float | None
    charged_kwh: float = Field(description="what the session has charged so far")
    remaining_kwh: float
    power_w: float | None = Field(description="the power the allocation gives the car now")
    ready_at: datetime | None = Field(
        description="at that power, when the need is met (None: not by the departure)"
    )
    short_kwh: float = Field(description="what will be missing at the departure (0: ready)")
    source: str | None = Field(
        None,
        description="where the departure came from: tag_default, connector_default (the "
        "session's defaults at its start), car (NotifyEVChargingNeeds), portal or api",
    )


class PhaseSwitchingIn(BaseModel):
    enabled: bool = Field(
        True, description="the charger can switch this connector between 1 and 3 phases"
    )
    up_delay_s: float = Field(60.0, ge=0, le=3600, description="to three phases after this long")
    down_delay_s: float = Field(30.0, ge=0, le=3600, description="to one phase after this long")
    min_interval_s: float = Field(
        300.0, ge=0, le=86400, description="at least this long between two switches"
    )


class PhaseSwitchingOut(BaseModel):
    connector_id: str
    enabled: bool
    up_delay_s: float | None = None
    down_delay_s: float | None = None
    min_interval_s: float | None = None
    phases: int | None = Field(None, description="the phases in force")
    want: int | None = Field(None, description="a switch waiting for its delay")
    want_since: datetime | None = None
    switched_at: datetime | None = None
