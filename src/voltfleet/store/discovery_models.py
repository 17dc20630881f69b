"""What each gateway last reported on its bus (auto-detect), and what became of each device:
added to the site, updated, or offered for binding with the reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, new_id, utcnow


class DiscoveredDevice(Base):
    __tablename__ = "discovered_devices"
    __table_args__ = (UniqueConstraint("gateway_id", "serial"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    gateway_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="")
    serial: Mapped[str] = mapped_column(String(64))
    manufacturer: Mapped[str] = mapped_column(String(60), default="")
    model: Mapped[str] = mapped_column(String(60), default="")
    firmware: Mapped[str] = mapped_column(String(40), default="")
    sunspec_models: Mapped[Any] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(10))  # added | updated | unchanged | offered
    reason: Mapped[str] = mapped_column(String(300), default="")
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
