"""Exchange reference rates, and the state of each market area's day-ahead price fetch."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id


class ExchangeRateRow(Base):
    """One day's reference rate of a currency: units per euro, as the decimal text the source
    published (kept as text so no float ever touches it; read back as ``Decimal``)."""

    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("source", "day", "currency"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(10))  # ecb
    day: Mapped[date] = mapped_column(Date, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    per_eur: Mapped[str] = mapped_column(String(32))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)


class MarketFetchRow(Base):
    """How the day-ahead price fetch of one (source, area) went: when it was last tried and last
    succeeded, until when prices are known, and the open operator alarm (a failed fetch, or
    tomorrow's prices still missing by the configured hour) with its reason."""

    __tablename__ = "market_fetch_status"
    __table_args__ = (UniqueConstraint("source", "area"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(40))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    covered_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    alarm_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    alarm_reason: Mapped[str] = mapped_column(Text, default="")
