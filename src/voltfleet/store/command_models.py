"""Device commands: what a person (or the placeholder day plan) asked a device to do, and how far
the request got (queued -> sent -> acknowledged | failed | expired)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id


class Command(Base):
    """One command to one device, delivered through the gateway above it.

    ``gateway_id`` is the gateway found above the device when the command was created (the
    device itself when it is a gateway); HTTP polling and MQTT publishing look commands up by it.
    ``params`` holds the validated parameters (domain.commands), ``result`` the gateway's reply
    details. A command is never delivered before ``not_before`` nor after ``expires_at``.
    """

    __tablename__ = "commands"
    __table_args__ = (
        Index("ix_commands_device_created", "device_id", "created_at"),
        Index("ix_commands_gateway_state", "gateway_id", "state"),
        Index("ix_commands_state_expires", "state", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    gateway_id: Mapped[str | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[Any] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12))  # domain.commands.CommandState
    source: Mapped[str] = mapped_column(String(12), default="user")  # user | plan
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_via: Mapped[str | None] = mapped_column(String(8), nullable=True)  # http | mqtt
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
