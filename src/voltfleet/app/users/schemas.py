from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

RoleName = Literal["admin", "om", "owner"]


class UserCreate(BaseModel):
    email: EmailStr
    username: str = Field(min_length=1, max_length=100)
    password: str | None = Field(
        default=None,
        description="6 to 18 characters: upper case, lower case, digit, special. Omitted: the "
        "system generates a temporary password and mails it to the user, who must change it "
        "at the first sign-in",
    )
    org_id: str | None = Field(default=None, description="your own organisation when omitted")
    role: RoleName = "owner"
    country: str = Field(default="", pattern="^([A-Z]{2})?$")
    supervisor_id: str | None = Field(
        default=None, description="a user you see who looks after this one (optional)"
    )
    description: str = Field(default="", max_length=2000)


class UserUpdate(BaseModel):
    username: str | None = Field(default=None, min_length=1, max_length=100)
    supervisor_id: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    role: RoleName | None = None
    country: str | None = Field(default=None, pattern="^([A-Z]{2})?$")
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")


class PasswordReset(BaseModel):
    """Nothing to choose: the user gets a temporary password by mail and must change it."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_chosen_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "new_password" in data:
            raise ValueError(
                "new_password cannot be chosen: a reset mails a temporary password to the user, "
                "who must change it at the next sign-in"
            )
        return data


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
    supervisor_id: str | None = None
    description: str = ""
    language: str = Field(default="", description='"" (the browser\'s), "en" or "de"')
    timezone: str = Field(default="", description='IANA zone of fleet-wide pages ("" = UTC)')
    formats: str = Field(default="", description='"" (as the language), iso, en-GB, en-US, de-DE')
    created_at: datetime
