"""Telemetry tables the ORM knows: gateway credentials, quarantined readings, counter restarts.

The readings and their roll-ups live in tables owned by the time-series adapters
(store/timeseries/), created by migration 0004.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id


class DeviceCredential(Base):
    """A gateway's ingest token. Only its SHA-256 is kept; the token is shown once, when issued.
    Issuing a new one revokes the previous ones (rotation)."""

    __tablename__ = "device_credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AsSent(TypeDecorator[str]):
    """Text a device sent, kept as sent except for NUL characters, which PostgreSQL's text types
    refuse (a payload of raw bytes would otherwise fail to be quarantined, and be lost): each
    becomes U+FFFD, the replacement character."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


class AsSentText(AsSent):
    impl = Text
    cache_ok = True


class QuarantinedReading(Base):
    """A reading that was received but not stored, with the reason, for O&M to look at.

    What was sent is kept as sent (``device_ref``, ``point``, ``ts_text``, ``value_text``,
    ``unit``), so a NaN or a year-222222017 timestamp survives for inspection."""

    __tablename__ = "quarantined_readings"
    __table_args__ = (
        Index("ix_quarantined_readings_site_received", "site_id", "received_at"),
        Index("ix_quarantined_readings_device", "device_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    gateway_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    device_ref: Mapped[str] = mapped_column(AsSent(64), default="")
    point: Mapped[str] = mapped_column(AsSent(64), default="")
    ts: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ts_text: Mapped[str] = mapped_column(AsSent(64), default="")
    value_text: Mapped[str] = mapped_column(AsSent(64), default="")
    unit: Mapped[str] = mapped_column(AsSent(16), default="")
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(AsSentText(), default="")


class CounterRestart(Base):
    """An energy counter of a device restarted at ``at`` from ``start_wh`` (a replaced meter, a
    firmware reset): recorded by O&M, applied by ingest and the roll-ups
    (domain.telemetry.restarts)."""

    __tablename__ = "counter_restarts"
    __table_args__ = (
        UniqueConstraint("device_id", "point", "at", name="uq_counter_restarts_device_point_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    point: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    start_wh: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class SiteSummary(Base):
    """A site's latest day, month and year energy figures, its totals and twelve months of PV
    (domain.telemetry.summary), kept up to date by ingest for the fleet home page. Derived
    data: dropped when the site's statistical range, devices or time zone change, and rebuilt
    from the roll-ups (store/summaries.py)."""

    __tablename__ = "site_summaries"
    # covering: the site list sorts by power now and today's yield from the index (0036)
    __table_args__ = (
        Index("ix_site_summaries_now", "site_id", "power_us", "power_w", "day_us", "pv_day"),
    )

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    day_us: Mapped[int] = mapped_column(BigInteger)  # period starts, epoch microseconds (UTC)
    month_us: Mapped[int] = mapped_column(BigInteger)
    year_us: Mapped[int] = mapped_column(BigInteger)
    pv_day: Mapped[float] = mapped_column(Float)
    pv_month: Mapped[float] = mapped_column(Float)
    pv_year: Mapped[float] = mapped_column(Float)
    pv_total: Mapped[float] = mapped_column(Float)
    export_day: Mapped[float] = mapped_column(Float)
    export_month: Mapped[float] = mapped_column(Float)
    export_year: Mapped[float] = mapped_column(Float)
    export_total: Mapped[float] = mapped_column(Float)
    power_w: Mapped[float | None] = mapped_column(Float, nullable=True)  # PV power now
    power_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # ... measured at
    # PV of the month of month_us (pv_m0) and of the eleven months before it (pv_m1 ... pv_m11)
    pv_m0: Mapped[float] = mapped_column(Float)
    pv_m1: Mapped[float] = mapped_column(Float)
    pv_m2: Mapped[float] = mapped_column(Float)
    pv_m3: Mapped[float] = mapped_column(Float)
    pv_m4: Mapped[float] = mapped_column(Float)
    pv_m5: Mapped[float] = mapped_column(Float)
    pv_m6: Mapped[float] = mapped_column(Float)
    pv_m7: Mapped[float] = mapped_column(Float)
    pv_m8: Mapped[float] = mapped_column(Float)
    pv_m9: Mapped[float] = mapped_column(Float)
    pv_m10: Mapped[float] = mapped_column(Float)
    pv_m11: Mapped[float] = mapped_column(Float)
