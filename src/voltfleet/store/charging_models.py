"""EV charging sessions: one row per OCPP transaction of a charger's connector."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id

# The longest card a session keeps: OCPP 2.0.1's IdToken (identifierString[36]); 1.6's is 20.
ID_TOKEN_CHARS = 36


class ChargingSession(Base):
    """A charging session (OCPP 1.6 transaction) from StartTransaction to StopTransaction.

    ``transaction_id`` is the integer the platform gave the charger (random, unique); the meter
    readings are the charger's energy register (Wh). While the session runs, ``meter_last_wh``
    and ``power_w`` follow its MeterValues, so "energy so far" is ``meter_last_wh -
    meter_start_wh``; ``energy_wh`` is set when it stops (None when the register went backwards).
    """

    __tablename__ = "charging_sessions"
    __table_args__ = (
        Index("ix_charging_sessions_site_started", "site_id", "started_at"),
        Index("ix_charging_sessions_device_connector", "device_id", "connector_id", "stopped_at"),
        Index("ix_charging_sessions_device_ref", "device_id", "transaction_ref"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[int] = mapped_column(Integer, unique=True)
    # OCPP 2.0.1: the charger's own transaction id (1.6: None, the charger uses ``transaction_id``)
    transaction_ref: Mapped[str | None] = mapped_column(String(36), nullable=True)
    id_tag: Mapped[str] = mapped_column(String(ID_TOKEN_CHARS), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    meter_start_wh: Mapped[float] = mapped_column(Float)
    meter_stop_wh: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_wh: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_reason: Mapped[str] = mapped_column(String(20), default="")
    meter_last_wh: Mapped[float | None] = mapped_column(Float, nullable=True)
    power_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
