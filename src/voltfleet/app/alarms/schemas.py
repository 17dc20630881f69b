from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

MAX_ALARMS = 1_000  # events in one ingest batch


class AlarmEventIn(BaseModel):
    """An alarm event as a gateway sends it. Fields are read leniently here and checked by
    ``domain.alarms.parse_event``, so a bad event is refused alone, with its reason."""

    device: str = Field(
        default="",
        max_length=64,
        description="serial number or id of a device below the sending gateway; empty: the "
        "gateway itself",
    )
    code: str = Field(default="", max_length=64, description="see GET /api/v1/alarms/codes")
    action: str = Field(default="", max_length=16, description="raise | clear")
    ts: str = Field(default="", max_length=64, description="ISO 8601 with a UTC offset")
    message: str = Field(default="", max_length=2000, description="what the device said")


class AlarmRefusalOut(BaseModel):
    index: int = Field(description="position of the event in the batch's 'alarms'")
    reason: str
    detail: str


class AlarmIngestOut(BaseModel):
    received: int = 0
    opened: int = Field(default=0, description="new active alarms")
    cleared: int = Field(default=0, description="active alarms that ended")
    unchanged: int = Field(default=0, description="repeats of what is already known")
    refused: int = 0
    refusals: list[AlarmRefusalOut] = Field(default_factory=list)


Status = Literal["active", "cleared", "all"]


class AlarmOut(BaseModel):
    id: str
    site_id: str
    site_name: str
    device_id: str
    device_serial: str
    device_name: str
    device_kind: str
    code: str
    severity: str
    title: str
    suggested_action: str
    message: str
    status: Literal["active", "cleared"]
    level: str = Field(description="urgent | important | common | prompt (the manual's types)")
    raised_at: datetime
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None = Field(description="the user's id")
    acknowledged_by_email: str | None


class AlarmCodeOut(BaseModel):
    code: str
    device_kind: str
    severity: str
    level: str
    title: str
    suggested_action: str


class AlarmCountsOut(BaseModel):
    """Active alarms by severity."""

    major: int = 0
    minor: int = 0
    warning: int = 0
    total: int = 0


class AlarmLevelCountsOut(BaseModel):
    """Active alarms by the manual's four levels, most pressing first."""

    urgent: int = 0
    important: int = 0
    common: int = 0
    prompt: int = 0
    total: int = 0
