from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class RegisterOut(BaseModel):
    key: str = Field(description="<model>.<point> (SunSpec) or @<address> (vendor map)")
    group: str
    name: str
    label: str
    unit: str
    model: int | None
    address: int | None
    data_type: str
    writable: bool
    min: float | None
    max: float | None
    step: float | None
    symbols: list[str] = Field(description="an enum's choices: NAME=value")
    value: Any = Field(default=None, description="the value last read (scaled), if any")
    read_at: str | None = Field(default=None, description="when it was read (UTC)")


class RegistersOut(BaseModel):
    device_id: str
    map: str
    groups: list[str]
    registers: list[RegisterOut]


class ReadIn(BaseModel):
    keys: list[str] = Field(min_length=1, max_length=100, description="register keys to read")


class WriteIn(BaseModel):
    key: str = Field(max_length=120, description="the register's key")
    value: float | int | str = Field(description="the value (scaled, in the register's unit)")


class RegisterMapIn(BaseModel):
    device_model: str = Field(min_length=1, max_length=100)
    filename: str = Field(default="map.csv", max_length=200)
    format: str = Field(default="csv", description="csv | json")
    content: str = Field(
        max_length=1_000_000,
        description="the file: CSV with a header line (group,address,name,label,unit,type,"
        "count,scale,offset,min,max,step,register,access,description) or JSON "
        '{"parameters": [{...same names...}]}',
    )


class RegisterMapOut(BaseModel):
    id: str
    org_id: str
    device_model: str
    filename: str
    format: str
    parameters: int
    created_at: datetime
