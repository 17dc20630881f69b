from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CountryCode = Field(default="", pattern="^([A-Z]{2})?$", description="ISO 3166-1 alpha-2, e.g. DE")


class OrgCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Sunny Installers GmbH"])
    type: Literal["distributor", "installer", "utility"]
    parent_id: str | None = Field(
        default=None, description="the superior organisation; your own organisation when omitted"
    )
    country: str = CountryCode
    description: str = Field(default="", max_length=2000)


class OrgUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    country: str | None = Field(default=None, pattern="^([A-Z]{2})?$")
    description: str | None = Field(default=None, max_length=2000)
    address: str | None = Field(default=None, max_length=500)


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    type: str
    parent_id: str | None
    country: str
    description: str
    address: str = ""
    access_code: str | None = Field(
        default=None,
        description="give this to a subordinate so it can register under you; only those who "
        "may manage the organisation see it (null for owners)",
    )
    created_at: datetime


def org_out(org: object, *, may_manage: bool) -> OrgOut:
    """An organisation as a caller may read it: the access code (which lets others register
    under it or find it to share sites with) only for those who may manage it."""
    out = OrgOut.model_validate(org)
    if not may_manage:
        out.access_code = None
    return out
