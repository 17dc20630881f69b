"""Delivery between processes (issue 18): which process holds which charger's OCPP socket, and
the calls one process asks the holder to make. Written and read only on PostgreSQL, by
``app.charging.relay``; with SQLite (one process) the tables stay empty.

The times here are the database server's (``now()``), so the processes compare one clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime


class OcppRelayProcess(Base):
    """A process that holds OCPP sockets: it LISTENs on ``channel`` and beats every few
    seconds; one whose beat is stale is taken as gone (killed), with its chargers."""

    __tablename__ = "ocpp_relay_processes"

    process_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(63))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OcppRelayHolder(Base):
    """The process holding a charger's socket now (a reconnection elsewhere takes the row)."""

    __tablename__ = "ocpp_relay_holders"

    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    serial: Mapped[str] = mapped_column(String(100), index=True)
    process_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[str] = mapped_column(String(10))
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class OcppRelayCall(Base):
    """One call asked of the holding process and its answer (deleted by the asker once read)."""

    __tablename__ = "ocpp_relay_calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(36), index=True)  # the holder asked
    reply_channel: Mapped[str] = mapped_column(String(63))
    serial: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
