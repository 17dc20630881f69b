"""Virtual batteries (issue 17): what a utility partner configured, the market-partner ids of
its MSCONS exports, and the ledger stored per 15-minute interval (domain.virtual_battery), so a
late reading or a recorded counter restart recomputes it from its interval on."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, new_id, utcnow


class VirtualBattery(Base):
    """One virtual battery: a partner (``org_id``, a utility) offers it to a customer (a user
    linked to the partner's account) over the house meter ``meter_id`` of the customer's site.

    ``dirty_from`` is where the stored ledger stops being right (new, late or restarted meter
    data; a changed configuration): the settle job recomputes from there to the newest data and
    clears it. ``level_wh``/``level_at`` are the newest level, for lists and the live view."""

    __tablename__ = "virtual_batteries"
    __table_args__ = (Index("ix_virtual_batteries_meter", "meter_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    meter_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    capacity_wh: Mapped[float] = mapped_column(Float, default=0.0)  # 0: no limit
    start_date: Mapped[date] = mapped_column(Date)
    reset_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reset_yearly: Mapped[bool] = mapped_column(Boolean, default=False)
    dirty_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    level_wh: Mapped[float] = mapped_column(Float, default=0.0)
    level_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VirtualBatteryInterval(Base):
    """The ledger of one 15-minute interval (start in epoch microseconds, UTC): the meter's
    import and export and what the ledger made of them (domain.virtual_battery.ledger.Ledger)."""

    __tablename__ = "virtual_battery_intervals"

    battery_id: Mapped[str] = mapped_column(
        ForeignKey("virtual_batteries.id", ondelete="CASCADE"), primary_key=True
    )
    start_us: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    import_wh: Mapped[float] = mapped_column(Float)
    export_wh: Mapped[float] = mapped_column(Float)
    level_wh: Mapped[float] = mapped_column(Float)
    charged_wh: Mapped[float] = mapped_column(Float)
    discharged_wh: Mapped[float] = mapped_column(Float)
    spilled_wh: Mapped[float] = mapped_column(Float)
    grid_import_wh: Mapped[float] = mapped_column(Float)
    forfeited_wh: Mapped[float] = mapped_column(Float)


class MarketPartner(Base):
    """A partner's identity in market communication (MSCONS): its own market-partner id (the
    sender), the receiver's, and the MIG version it writes (a newer one may become binding)."""

    __tablename__ = "virtual_battery_market_partners"

    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(35), default="")
    receiver_id: Mapped[str] = mapped_column(String(35), default="")
    format_version: Mapped[str] = mapped_column(String(10), default="2.4c")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
