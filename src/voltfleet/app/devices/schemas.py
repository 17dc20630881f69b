from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KindName = Literal["gateway", "inverter", "battery", "meter", "charger"]
StatusName = Literal["online", "offline", "fault", "standby", "running", "unknown"]
SERIAL = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"


class ConnectorIn(BaseModel):
    connector_no: int = Field(ge=1, le=16)
    plug: Literal["type1", "type2", "ccs1", "ccs2", "chademo", "schuko"] = "type2"
    max_current_a: float = Field(default=16.0, gt=0, le=1000)
    phases: Literal[1, 3] = 3


class DeviceIn(BaseModel):
    """A device to bind to a site by its serial number (or add by hand with its details)."""

    kind: KindName
    serial: str = Field(min_length=1, max_length=64, pattern=SERIAL, examples=["INV22B0004711"])
    subtype: str | None = Field(
        default=None,
        description="gateway: wifi|4g|ethernet|datahub; inverter: hybrid|pv|micro; "
        "battery: lfp|nmc|other; meter: grid|pv|load|other; charger: ac|dc",
    )
    name: str = Field(default="", max_length=200)
    model: str = Field(default="", max_length=100)
    registration_no: str = Field(default="", max_length=64, description="gateways")
    fw_dsp: str = Field(default="", max_length=40)
    fw_lcd: str = Field(default="", max_length=40)
    fw_arm: str = Field(default="", max_length=40, description="also a gateway's firmware")
    comm_address: int | None = Field(default=None, ge=0, le=65535)
    parent_serial: str | None = Field(
        default=None, max_length=64, description="the gateway (or inverter) it hangs below"
    )
    rated_power_w: float | None = Field(default=None, ge=0)
    connectors: list[ConnectorIn] | None = Field(
        default=None, description="chargers: their connectors (one type 2 connector if omitted)"
    )


class DeviceUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=100)
    registration_no: str | None = Field(default=None, max_length=64)
    fw_dsp: str | None = Field(default=None, max_length=40)
    fw_lcd: str | None = Field(default=None, max_length=40)
    fw_arm: str | None = Field(default=None, max_length=40)
    comm_address: int | None = Field(default=None, ge=0, le=65535)
    rated_power_w: float | None = Field(default=None, ge=0)
    live_data_enabled: bool | None = None
    in_statistics: bool | None = None


class MoveIn(BaseModel):
    site_id: str = Field(description="the site the gateway (with its devices) moves to")


class ConnectorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    connector_no: int
    plug: str
    max_current_a: float
    phases: int
    status: str


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    site_id: str
    site_name: str = ""
    parent_id: str | None
    parent_serial: str | None = None
    kind: str
    subtype: str
    serial: str
    registration_no: str
    name: str
    model: str
    fw_dsp: str
    fw_lcd: str
    fw_arm: str
    comm_address: int | None
    status: str
    last_seen: datetime | None
    rated_power_w: float | None
    live_data: str = Field(description="supported, or why not")
    live_data_reason: str = ""
    live_data_enabled: bool
    in_statistics: bool
    created_at: datetime
    connectors: list[ConnectorOut] = []


class ImportRow(BaseModel):
    line: int = Field(description="line number in the file (the header is line 1)")
    serial: str
    kind: str
    result: Literal["added", "refused"]
    reason: str = ""
    device_id: str | None = None


class ImportReport(BaseModel):
    added: int
    refused: int
    rows: list[ImportRow]


class TopologyNode(BaseModel):
    id: str
    kind: str
    subtype: str
    serial: str
    name: str
    model: str
    status: str
    comm_address: int | None
    live_data: str
    connectors: list[ConnectorOut] = []
    children: list[TopologyNode] = []


class Topology(BaseModel):
    site_id: str
    site_name: str
    nodes: list[TopologyNode]
