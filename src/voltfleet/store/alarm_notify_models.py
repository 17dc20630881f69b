"""Alarm notifications: subscriptions (who wants which levels of which sites, by email or signed
webhook) and the delivery log (one row per alarm and subscription, with its attempts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id


class AlarmSubscription(Base):
    """A standing order to be told of alarms.

    It belongs to an organisation (``org_id``): the staff who see that organisation see and manage
    it. Its reach is that organisation's sites (and those below it, and those shared to them), or,
    when an owner made it (``owner_user_id``), the owner's own sites; ``site_ids`` narrows it
    further (empty: every site in reach). ``secret`` signs webhook bodies; it is shown once.
    """

    __tablename__ = "alarm_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    owner_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10))  # email | webhook
    target: Mapped[str] = mapped_column(String(2000))  # an email address or an https URL
    secret: Mapped[str] = mapped_column(String(100), default="")
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    site_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(5), default="en")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now, onupdate=clock_now)


class AlarmDelivery(Base):
    """One alarm told to one subscription: pending until delivered or given up, with its tries."""

    __tablename__ = "alarm_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "alarm_id", "event", name="uq_alarm_delivery"),
        Index("ix_alarm_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alarm_deliveries_sub_created", "subscription_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("alarm_subscriptions.id", ondelete="CASCADE")
    )
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(20), default="alarm.raised")
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
