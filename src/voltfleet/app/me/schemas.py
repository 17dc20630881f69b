from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

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
