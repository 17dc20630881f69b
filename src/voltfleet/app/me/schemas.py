from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from voltfleet.app.formatting import valid_zone
from voltfleet.app.orgs.schemas import OrgOut
from voltfleet.app.users.schemas import UserOut


class Me(BaseModel):
    user: UserOut
    org: OrgOut
    permissions: dict[str, list[str]] = Field(description="per kind of object, the allowed actions")
    has_avatar: bool


class ProfileUpdate(BaseModel):
    username: str | None = Field(default=None, min_length=1, max_length=100)
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", examples=["EUR"])
    country: str | None = Field(default=None, pattern="^([A-Z]{2})?$")
    # Portal preferences (app/formatting.py); "" goes back to the default.
    language: Literal["", "en", "de"] | None = None
    timezone: str | None = Field(default=None, max_length=64, examples=["Europe/Berlin"])
    formats: Literal["", "iso", "en-GB", "en-US", "de-DE"] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value and not valid_zone(value):
            raise ValueError(f"unknown time zone {value!r}: an IANA name such as Europe/Berlin")
        return value


class PasswordChange(BaseModel):
    current_password: str
    new_password: str


class EmailChangeNew(BaseModel):
    old_code: str = Field(description="the code mailed to your current address")
    new_email: EmailStr


class CodeIn(BaseModel):
    code: str


class Deregister(BaseModel):
    password: str


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["home-assistant"])


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="shown once: store it now")
