from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from voltfleet.app.orgs.schemas import OrgOut
from voltfleet.app.users.schemas import UserOut


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")
    password_change_required: bool = Field(
        default=False,
        description="true after someone reset the password: until POST /api/v1/me/password "
        "sets a new one, every other request is refused with 403 password_change_required",
    )


class EmailIn(BaseModel):
    email: EmailStr


class Registration(BaseModel):
    account_type: Literal["distributor", "installer", "owner"]
    email: EmailStr
    code: str = Field(description="the code mailed by POST /api/v1/auth/register/code")
    password: str
    username: str = Field(min_length=1, max_length=100)
    access_code: str = Field(description="your superior's access code")
    org_name: str | None = Field(
        default=None, max_length=200, description="the company name (distributor and installer)"
    )
    country: str = Field(
        default="", pattern="^([A-Z]{2})?$", description="the region: ISO 3166-1 alpha-2"
    )
    password_confirm: str | None = Field(
        default=None, description="the password again (the portal always sends it)"
    )
    accept_terms: bool | None = Field(
        default=None,
        description="that you accept the terms of use (GET /terms) and have read the privacy "
        "policy (GET /privacy); false refuses the registration, and the portal requires true",
    )


class Registered(BaseModel):
    user: UserOut
    org: OrgOut | None


class PasswordResetIn(BaseModel):
    email: EmailStr
    code: str
    new_password: str


class Accepted(BaseModel):
    detail: str
