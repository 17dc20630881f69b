"""Devices of a site (gateways, inverters, batteries, meters, chargers with connectors), their
status history, and per-user portal preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id


class Device(Base):
    """One physical device bound to a site.

    A serial number is bound to at most one live device at a time (partial unique index); unbound
    and deleted devices keep their row (``deleted_at``) so their telemetry survives the retention
    period, and the serial can be bound again elsewhere.
    ``live_data`` is derived (domain.fleet.live_data) and stored so it can be searched.
    """

    __tablename__ = "devices"
    __table_args__ = (
        Index(
            "uq_devices_serial_live",
            "serial",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_devices_site_kind", "site_id", "kind"),
        Index("ix_devices_registration_no", "registration_no"),
        Index("ix_devices_status", "status"),
        # The site list's online rate reads a site's devices from the index alone (issue 19).
        Index("ix_devices_site_live_status", "site_id", "deleted_at", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # gateway | inverter | battery | meter | charger
    subtype: Mapped[str] = mapped_column(String(10), default="")  # wifi | hybrid | micro ...
    serial: Mapped[str] = mapped_column(String(64))
    registration_no: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(100), default="", index=True)
    fw_dsp: Mapped[str] = mapped_column(String(40), default="")
    fw_lcd: Mapped[str] = mapped_column(String(40), default="")
    fw_arm: Mapped[str] = mapped_column(String(40), default="")
    comm_address: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="unknown")
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rated_power_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    live_data: Mapped[str] = mapped_column(String(20), default="no_gateway", index=True)
    live_data_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    in_statistics: Mapped[bool] = mapped_column(Boolean, default=True)
    # The newest PV power sample and its instant, kept by ingest for the fleet home page.
    pv_power_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    pv_power_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Connector(Base):
    """An outlet of an EV charger (OCPP connector id 1, 2, ...)."""

    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("charger_id", "connector_no"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    charger_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    connector_no: Mapped[int] = mapped_column(Integer)
    plug: Mapped[str] = mapped_column(String(20), default="type2")  # type2 | ccs2 | chademo ...
    max_current_a: Mapped[float] = mapped_column(Float, default=16.0)
    phases: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(20), default="unknown")


class DeviceStatusChange(Base):
    """Every change of a device's status, so a site's status for a past day can be told."""

    __tablename__ = "device_status_changes"
    __table_args__ = (Index("ix_device_status_changes_site_at", "site_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    status: Mapped[str] = mapped_column(String(10))


class UserPreference(Base):
    """A remembered choice of one user in the portal (for example the site list's columns)."""

    __tablename__ = "user_preferences"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(60))
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now, onupdate=clock_now)
