"""Default departures over HTTP (docs/departure-defaults.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field

HHMM = r"^([01]?\d|2[0-3]):[0-5]\d$"


class DepartureDefaultIn(BaseModel):
    departure_time: str = Field(
        pattern=HHMM,
        description="the usual departure, a time of day on the site's clock (HH:MM, e.g. 07:30)",
    )
    energy_need_kwh: float = Field(
        gt=0, le=500, description="the energy the car usually wants by then (kWh)"
    )


class TagDepartureDefaultOut(BaseModel):
    id_tag_id: str
    tag: str
    label: str
    departure_time: str
    energy_need_kwh: float


class ConnectorDepartureDefaultOut(BaseModel):
    connector_id: str
    charger_id: str
    charger_serial: str
    connector_no: int
    departure_time: str
    energy_need_kwh: float


class DepartureDefaultsOut(BaseModel):
    tags: list[TagDepartureDefaultOut] = Field(
        description="id tags with a default: a session started with the tag gets it"
    )
    connectors: list[ConnectorDepartureDefaultOut] = Field(
        description="connectors with a default, for sessions whose tag has none"
    )
