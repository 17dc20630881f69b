from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

RoleName = Literal["admin", "om", "owner"]


class UserCreate(BaseModel):
    email: EmailStr
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(description="6 to 18 characters: upper case, lower case, digit, special")
    org_id: str | None = Field(default=None, description="your own organisation when omitted")
    role: RoleName = "owner"
    country: str = Field(default="", pattern="^([A-Z]{2})?$")


class UserUpdate(BaseModel):
    username: str | None = Field(default=None, min_length=1, max_length=100)
    role: RoleName | None = None
    country: str | None = Field(default=None, pattern="^([A-Z]{2})?$")
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")


class PasswordReset(BaseModel):
    new_password: str | None = Field(
        default=None,
        description="the new password; when omitted a temporary one is generated and mailed",
    )


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    username: str
    org_id: str
    role: str
    is_superuser: bool
    country: str
    currency: str
    created_at: datetime
