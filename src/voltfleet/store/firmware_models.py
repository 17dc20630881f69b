"""Firmware releases (with their file), upgrade tasks (campaigns) and each device's part in
them, the firmware versions devices report, and commissioning reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, new_id, utcnow


class FirmwareRelease(Base):
    """One firmware file for a device model and firmware type. Visible to the organisation that
    uploaded it, those below it and those above it (a manufacturer's platform organisation
    publishes to every distributor and installer)."""

    __tablename__ = "firmware_releases"
    __table_args__ = (
        UniqueConstraint("org_id", "model", "firmware_type", "version"),
        Index("ix_firmware_releases_model_type", "model", "firmware_type"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    org_path: Mapped[str] = mapped_column(String(2000), index=True)
    device_kind: Mapped[str] = mapped_column(String(10))  # gateway | inverter
    model: Mapped[str] = mapped_column(String(100))
    firmware_type: Mapped[str] = mapped_column(String(48))
    version: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(200), nullable=True)  # base64 Ed25519
    signed: Mapped[bool] = mapped_column(Boolean, default=False)  # checked against the key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    creator_name: Mapped[str] = mapped_column(String(200), default="")


class FirmwareFile(Base):
    """A release's bytes (kept apart so listing releases never loads them)."""

    __tablename__ = "firmware_files"

    release_id: Mapped[str] = mapped_column(
        ForeignKey("firmware_releases.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class FirmwareTask(Base):
    """An upgrade task: one release for a chosen set of devices, run as a campaign
    (domain.firmware.campaign) now or from a reserved time."""

    __tablename__ = "firmware_tasks"
    __table_args__ = (Index("ix_firmware_tasks_state", "state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, index=True)  # shown to people: 1, 2, 3 ...
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    org_path: Mapped[str] = mapped_column(String(2000), index=True)
    release_id: Mapped[str] = mapped_column(ForeignKey("firmware_releases.id", ondelete="CASCADE"))
    device_kind: Mapped[str] = mapped_column(String(10))
    firmware_type: Mapped[str] = mapped_column(String(48))
    model: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12))  # domain CampaignState
    reason: Mapped[str] = mapped_column(Text, default="")
    policy: Mapped[Any] = mapped_column(JSON)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    zone: Mapped[str] = mapped_column(String(64), default="UTC")  # the reservation's zone
    unlocked_wave: Mapped[int] = mapped_column(Integer, default=0)
    failed_baseline: Mapped[int] = mapped_column(Integer, default=0)
    finished_baseline: Mapped[int] = mapped_column(Integer, default=0)
    allow_downgrade: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    creator_name: Mapped[str] = mapped_column(String(200), default="")


class FirmwareRun(Base):
    """One device's part in a task, in the campaign's order (``position``)."""

    __tablename__ = "firmware_runs"
    __table_args__ = (
        UniqueConstraint("task_id", "device_id"),
        Index("ix_firmware_runs_device", "device_id", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(ForeignKey("firmware_tasks.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    wave: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(64), default="UTC")
    state: Mapped[str] = mapped_column(String(12))  # domain RunState
    from_version: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offline_attempts: Mapped[int] = mapped_column(Integer, default=0)
    command_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")


class DeviceFirmware(Base):
    """The firmware version a device last reported, per firmware type."""

    __tablename__ = "device_firmware"
    __table_args__ = (UniqueConstraint("device_id", "firmware_type"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    firmware_type: Mapped[str] = mapped_column(String(48))
    version: Mapped[str] = mapped_column(String(40))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommissioningReport(Base):
    """A commissioning report of a site, generated in the background as a PDF."""

    __tablename__ = "commissioning_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="")
    device_ids: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # reading | generating | finished | failed
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    message: Mapped[str] = mapped_column(Text, default="")
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
