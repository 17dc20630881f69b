"""EV power management of a site (a location): its fuse tree, mode and settings, and what the
platform last told each connector (docs/power-management.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, new_id, utcnow


class PowerLocation(Base):
    """Power management of one site: its grid connection and the mode with its settings. The
    main fuse is the root ``PowerGroup``."""

    __tablename__ = "power_locations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), unique=True, index=True
    )
    grid_type: Mapped[str] = mapped_column(String(8))  # domain.power.tree.GridType
    mode: Mapped[str] = mapped_column(String(20), default="sharing")  # domain.power.modes.Mode
    solar_backup_s: Mapped[float] = mapped_column(Float, default=0.0)
    min_solar_share: Mapped[float] = mapped_column(Float, default=0.5)
    meter_stale_s: Mapped[float] = mapped_column(Float, default=30.0)
    raise_hold_s: Mapped[float] = mapped_column(Float, default=60.0)
    surplus_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PowerGroup(Base):
    """A fuse group: ``fuse_a`` per phase; the root (no parent) is the main fuse. A meter is any
    device of the site whose readings give the group's current per phase
    (``grid_current_l1_a`` .. ``l3_a``, or ``grid_power_w`` spread over the phases)."""

    __tablename__ = "power_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(
        ForeignKey("power_locations.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("power_groups.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    fuse_a: Mapped[float] = mapped_column(Float)
    fallback_a: Mapped[float | None] = mapped_column(Float, nullable=True)
    meter_device_id: Mapped[str | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True, index=True
    )
    peak_current_a: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_power_kw: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_start_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    peak_end_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class PowerConnector(Base):
    """A charger connector placed in a group, with its phase rotation (the grid phases of the
    charger's L1 L2 L3, e.g. "231"), its priority, and what was last applied and sent. Its
    maximum current is the connector's own (``connectors.max_current_a``)."""

    __tablename__ = "power_connectors"
    __table_args__ = (Index("ix_power_connectors_location", "location_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(ForeignKey("power_locations.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(ForeignKey("power_groups.id", ondelete="CASCADE"))
    connector_id: Mapped[str] = mapped_column(
        ForeignKey("connectors.id", ondelete="CASCADE"), unique=True
    )
    rotation: Mapped[str] = mapped_column(String(3), default="123")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # the hysteresis: what is applied now, and since when a higher target waits
    applied_a: Mapped[float | None] = mapped_column(Float, nullable=True)
    raise_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # what the charger accepted last, and the fallback limit it holds
    sent_a: Mapped[float | None] = mapped_column(Float, nullable=True)
    sent_phases: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    fallback_sent_a: Mapped[float | None] = mapped_column(Float, nullable=True)
