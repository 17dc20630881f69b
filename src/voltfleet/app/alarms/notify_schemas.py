"""Alarm subscriptions and their delivery log over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LevelName = Literal["urgent", "important", "common", "prompt"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    channel: Literal["email", "webhook"]
    target: str = Field(
        min_length=3, max_length=2000, description="an email address, or the webhook's http(s) URL"
    )
    levels: list[LevelName] = Field(min_length=1, max_length=4)
    site_ids: list[str] = Field(
        default_factory=list, max_length=500, description="empty: every site in reach"
    )
    enabled: bool = True
    language: Literal["en", "de"] = "en"
    org_id: str | None = Field(
        default=None, description="the organisation it belongs to (default: yours)"
    )


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    target: str | None = Field(default=None, min_length=3, max_length=2000)
    levels: list[LevelName] | None = Field(default=None, min_length=1, max_length=4)
    site_ids: list[str] | None = Field(default=None, max_length=500)
    enabled: bool | None = None
    language: Literal["en", "de"] | None = None
    rotate_secret: bool = Field(default=False, description="issue a new webhook secret")


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    org_id: str
    owner_user_id: str | None
    name: str
    channel: str
    target: str
    levels: list[str]
    site_ids: list[str]
    enabled: bool
    language: str
    created_at: datetime
    secret: str | None = Field(
        default=None, description="the webhook signing secret: only when created or rotated"
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="also the webhook-id header of its requests")
    subscription_id: str
    alarm_id: str
    site_id: str
    event: str
    channel: str
    target: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    response_status: int | None
    last_error: str
    created_at: datetime
