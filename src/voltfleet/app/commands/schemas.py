from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from voltfleet.app.instants import Instant


class CommandIn(BaseModel):
    kind: str = Field(
        description="battery_mode | battery_setpoint | register_read | register_write | scan | "
        "work_mode | intelligent_load | power_switch | autotest (docs/device-settings.md) | "
        "self_test (docs/firmware.md)",
        max_length=32,
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description='battery_mode: {"mode": "self_consumption" | "charge" | "discharge" | '
        '"idle", "battery_power_w": W (> 0 charging, < 0 discharging; optional)}; '
        'battery_setpoint: {"battery_power_w": W}; work_mode: {"mode": "pv" | "self_consumption" | '
        '"full_feed_in" | "emergency_charging" | "forced_off_grid" | "tou", "tou": {...}}; '
        'intelligent_load: {"mode": "off" | "manual" | "battery" | "time" | "surplus", ...}; '
        'power_switch: {"on": true | false}',
    )
    ttl_s: float = Field(
        default=300, description="seconds the command may wait for its gateway (10 .. 172800)"
    )
    not_before: Instant | None = Field(
        default=None, description="deliver no earlier than this (UTC offset required); now"
    )


class CommandOut(BaseModel):
    id: str
    device_id: str
    site_id: str
    kind: str
    params: dict[str, Any]
    state: str = Field(description="queued | sent | acknowledged | failed | expired")
    source: str = Field(description="user | plan")
    created_at: datetime
    created_by: str | None
    not_before: datetime
    expires_at: datetime
    sent_at: datetime | None
    sent_via: str | None = Field(description="http | mqtt")
    replied_at: datetime | None
    result: dict[str, Any] | None
    message: str


class GatewayCommandOut(BaseModel):
    """A command as its gateway receives it (the same body is published over MQTT)."""

    id: str
    kind: str
    device: str = Field(description="serial number of the device below the gateway")
    params: dict[str, Any]
    expires_at: datetime


class GatewayCommandsOut(BaseModel):
    commands: list[GatewayCommandOut]


class ReplyIn(BaseModel):
    status: str = Field(description="acknowledged | failed", max_length=20)
    message: str = Field(default="", max_length=2000)
    details: dict[str, Any] = Field(default_factory=dict, description="anything worth keeping")
