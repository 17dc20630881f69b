"""Departure times of charging sessions and 1p/3p switching of connectors (issue 13;
docs/power-management.md, "Departure times" and "1p/3p switching")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now


class SessionDeparture(Base):
    """When the car of a charging session leaves and how much energy it wants by then (the
    session's total, in Wh; what is still missing is this minus what the session charged)."""

    __tablename__ = "ev_session_departures"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    departure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    energy_need_wh: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20), default="portal")  # portal, api, car
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)


class PhaseSwitching(Base):
    """A power-managed connector that can switch between one and three phases (the row exists
    only then), its timers, and the switching state the power cycle keeps."""

    __tablename__ = "power_phase_switching"

    power_connector_id: Mapped[str] = mapped_column(
        ForeignKey("power_connectors.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[str] = mapped_column(
        ForeignKey("power_locations.id", ondelete="CASCADE"), index=True
    )
    up_delay_s: Mapped[float] = mapped_column(Float, default=60.0)
    down_delay_s: Mapped[float] = mapped_column(Float, default=30.0)
    min_interval_s: Mapped[float] = mapped_column(Float, default=300.0)
    phases: Mapped[int] = mapped_column(Integer, default=3)  # in force
    want: Mapped[int | None] = mapped_column(Integer, nullable=True)  # waiting for its delay
    want_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    switched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
