"""The newest value of each inverter's lifetime yield counter (``lifetime_yield_wh``), kept by
ingest so a page of sites reads their total yields in one query (app/telemetry/total_yield.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime


class LifetimeYield(Base):
    """A device's newest lifetime yield counter reading: ``yield_wh`` at ``at``."""

    __tablename__ = "lifetime_yields"

    device_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    yield_wh: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
