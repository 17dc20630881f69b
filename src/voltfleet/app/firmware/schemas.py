from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from voltfleet.app.instants import Instant


class ReleaseOut(BaseModel):
    id: str
    device_kind: str = Field(description="gateway | inverter | charger")
    model: str
    firmware_type: str
    firmware_type_label: str
    version: str
    description: str
    file_name: str
    size_bytes: int
    sha256: str
    signed: bool = Field(description="the signature was checked against the platform's key")
    new: bool = Field(description="the highest version of its model and firmware type")
    devices_running: int = Field(description="devices that report running this version")
    created_at: datetime
    creator: str


class PolicyIn(BaseModel):
    first_wave: int | None = Field(default=None, ge=1, description="devices in the first wave")
    first_wave_percent: float | None = Field(default=None, gt=0, le=100)
    wave_growth: float | None = Field(default=None, ge=1, le=100)
    success_threshold: float | None = Field(default=None, ge=0, le=1)
    error_threshold: float | None = Field(default=None, ge=0, le=1)
    min_finished: int | None = Field(default=None, ge=1)
    max_starts_per_minute: int | None = Field(default=None, ge=1)
    window_start_hour: int | None = Field(default=None, ge=0, le=23)
    window_end_hour: int | None = Field(default=None, ge=0, le=24)
    device_timeout_s: float | None = Field(default=None, ge=60, le=7 * 86400)
    offline_retry_s: float | None = Field(default=None, ge=10, le=86400)
    max_offline_attempts: int | None = Field(default=None, ge=1)


class TaskIn(BaseModel):
    release_id: str = Field(max_length=36)
    device_ids: list[str] = Field(max_length=5000)
    start_at: Instant | None = Field(
        default=None, description="reserved start (UTC offset required); omitted: now"
    )
    policy: PolicyIn = Field(default_factory=PolicyIn)
    confirm_downgrade: bool = Field(
        default=False, description="needed when the release is older than what a device runs"
    )


class TaskStatsOut(BaseModel):
    pending: int
    running: int
    succeeded: int
    failed: int
    skipped: int


class TaskOut(BaseModel):
    id: str
    number: int
    creator: str
    device_kind: str
    firmware_type: str
    model: str
    version: str
    release_id: str
    state: str = Field(description="scheduled | running | paused | finished | cancelled")
    reason: str
    reserved: bool
    start_at: datetime
    reservation: str = Field(description="the reserved time in the site's zone, with its offset")
    stats: TaskStatsOut
    policy: dict[str, Any]
    created_at: datetime


class RunOut(BaseModel):
    device_id: str
    serial: str
    site_id: str
    wave: int
    state: str
    from_version: str
    started_at: datetime | None
    updated_at: datetime | None
    message: str


class TaskDetailOut(TaskOut):
    runs: list[RunOut]


class CandidateOut(BaseModel):
    id: str
    serial: str
    site_id: str
    status: str
    model: str
    version: str


class HistoryOut(BaseModel):
    task_id: str
    number: int
    created_at: datetime
    firmware_type: str
    version: str
    from_version: str
    state: str
    message: str
    creator: str
    gateway_serial: str
    address: int | None


class DeviceFirmwareOut(BaseModel):
    versions: dict[str, str] = Field(description="firmware type -> the version last reported")
    history: list[HistoryOut]


class FirmwareStatusIn(BaseModel):
    device: str = Field(default="", max_length=64, description="serial; empty: the gateway")
    release_id: str = Field(default="", max_length=36)
    state: str = Field(
        max_length=20, description="downloading | installing | rebooting | running | failed"
    )
    version: str = Field(default="", max_length=40)
    message: str = Field(default="", max_length=500)


class FirmwareStatusOut(BaseModel):
    task_id: str | None = Field(description="the task the report moved, if any")
