"""Default departures (issue 13; docs/departure-defaults.md): an id tag's (RFID card's) usual
departure and energy need, and a charger connector's, applied when a session starts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now


class TagDepartureDefault(Base):
    """The usual departure of the car behind an id tag: a time of day on the site's clock
    ("07:30") and the energy it wants by then (Wh)."""

    __tablename__ = "ev_tag_departure_defaults"

    id_tag_id: Mapped[str] = mapped_column(
        ForeignKey("id_tags.id", ondelete="CASCADE"), primary_key=True
    )
    departure_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", site time
    energy_need_wh: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)


class ConnectorDepartureDefault(Base):
    """The departure a session on this connector starts with when its tag has none."""

    __tablename__ = "ev_connector_departure_defaults"

    connector_id: Mapped[str] = mapped_column(
        ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True
    )
    departure_time: Mapped[str] = mapped_column(String(5))
    energy_need_wh: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
