"""Vendor register maps: an administrator's upload of a device model's parameters (CSV or
JSON), one per model and organisation; the organisation's devices of that model and those of the
organisations below it use it (domain.registers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, new_id, utcnow


class RegisterMapFile(Base):
    __tablename__ = "register_maps"
    __table_args__ = (UniqueConstraint("org_id", "device_model", name="uq_register_maps_model"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    device_model: Mapped[str] = mapped_column(String(100), index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    format: Mapped[str] = mapped_column(String(8))  # csv | json
    # the checked parameters, as domain.registers.parameter_of reads them back
    parameters: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
