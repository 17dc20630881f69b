"""What a live snapshot looks like on the wire: the JSON of ``/live/now`` and of each event of a
``/live`` stream."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LiveValueOut(BaseModel):
    point: str = Field(description="a data point of the catalogue")
    value: float = Field(description="in the point's canonical unit (soc: fraction 0..1)")
    unit: str
    ts: datetime = Field(description="when the device measured it (UTC)")


class LiveDeviceOut(BaseModel):
    id: str
    serial: str
    name: str
    kind: str
    status: str = Field(description="online, offline, fault, standby, running or unknown")
    last_seen: datetime | None = Field(description="when its last reading arrived")
    live_data_enabled: bool = Field(description="sends every 10 s (else at its own pace)")
    values: list[LiveValueOut] = Field(description="the latest value of each point it sent")


class FlowsOut(BaseModel):
    """Power now (W), from the readings of the last ``offline_after_s`` seconds; null: none."""

    pv_power_w: float | None = Field(description="PV generation, >= 0")
    grid_power_w: float | None = Field(description="> 0 import, < 0 export")
    battery_power_w: float | None = Field(description="> 0 charging, < 0 discharging")
    load_power_w: float | None = Field(description="household load, >= 0")
    load_derived: bool = Field(description="load computed as pv + grid - battery")
    soc: float | None = Field(description="battery state of charge, fraction 0..1")
    ts: datetime | None = Field(description="the newest reading used")


class LiveOut(BaseModel):
    site_id: str
    device_id: str | None = Field(description="set when the snapshot is of one device")
    site_status: str = Field(description="online, offline, abnormal or no_device")
    timezone: str = Field(description="the site's IANA zone, for showing times")
    at: datetime = Field(description="when the snapshot was taken (UTC)")
    interval_s: float = Field(description="a stream sends a snapshot this often")
    offline_after_s: int = Field(description="a device is offline after this silence")
    flows: FlowsOut
    devices: list[LiveDeviceOut]
