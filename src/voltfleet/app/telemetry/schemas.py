from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from voltfleet.app.alarms.schemas import MAX_ALARMS, AlarmEventIn, AlarmIngestOut

MAX_BATCH = 50_000


class ReadingIn(BaseModel):
    device: str = Field(
        default="",
        max_length=64,
        description="serial number or id of a device below the sending gateway; empty: the "
        "gateway itself",
    )
    point: str = Field(max_length=64, description="a data point of the catalogue")
    ts: str = Field(max_length=64, description="ISO 8601 with a UTC offset")
    value: float | str | None = Field(description="a number (a malformed one is quarantined)")
    unit: str = Field(max_length=16, description="the point's unit, e.g. W, kW, Wh, kWh, %")


class IngestIn(BaseModel):
    readings: list[ReadingIn] = Field(default_factory=list, max_length=MAX_BATCH)
    alarms: list[AlarmEventIn] = Field(
        default_factory=list,
        max_length=MAX_ALARMS,
        description="alarm events (raise / clear), applied after the readings",
    )


class RejectionOut(BaseModel):
    index: int = Field(description="position of the reading in the batch")
    reason: str
    detail: str


class IngestOut(BaseModel):
    received: int
    accepted: int = Field(description="stored now (new)")
    duplicates: int = Field(description="already stored (same device, point and timestamp)")
    quarantined: int
    rejections: list[RejectionOut]
    alarms: AlarmIngestOut = Field(
        default_factory=AlarmIngestOut, description="what the batch's alarm events did"
    )


class TokenOut(BaseModel):
    device_id: str
    token: str = Field(description="shown once: send it as 'Authorization: Bearer <token>'")
    prefix: str
    created_at: datetime


class QuarantineOut(BaseModel):
    id: str
    received_at: datetime
    site_id: str
    gateway_id: str
    device_id: str | None
    device_ref: str
    point: str
    ts: datetime | None
    ts_text: str
    value_text: str
    unit: str
    reason: str
    detail: str
