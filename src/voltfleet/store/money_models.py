"""Tariffs with their history, market prices, and metered intervals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id


class TariffVersion(Base):
    """One version of a site's IMPORT, EXPORT or LOCAL tariff, in force from ``valid_from``
    (a local date in the site's zone) until the next version. Old versions are kept, so past
    costs stay right."""

    __tablename__ = "tariffs"
    __table_args__ = (UniqueConstraint("site_id", "direction", "valid_from"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(6))  # IMPORT | EXPORT | LOCAL
    valid_from: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24))  # fixed | tou | tou_weekday_weekend | market
    currency: Mapped[str] = mapped_column(String(3))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class MarketPriceRow(Base):
    """Day-ahead prices of a market area, as fetched from a source (ENTSO-E, aWATTar...)."""

    __tablename__ = "market_prices"
    __table_args__ = (UniqueConstraint("source", "area", "start"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    price_per_kwh: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))


class MeterIntervalRow(Base):
    """Energy metered over an interval: which way it moved and at which price it is valued.

    ``start_us``/``end_us`` repeat the interval as microseconds since the epoch: costing a
    year of 15-minute records reads 35,000 rows, and converting that many datetimes costs
    ten times more than the costing itself.
    """

    __tablename__ = "meter_intervals"
    __table_args__ = (
        UniqueConstraint("site_id", "record_reference_id"),
        Index("ix_meter_intervals_site_start_us", "site_id", "start_us"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)
    energy_wh: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(6))  # IMPORT | EXPORT
    tariff_rate: Mapped[str] = mapped_column(String(6))  # IMPORT | EXPORT | LOCAL
    record_reference_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    session_reference_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
