"""Battery plans as made: what the optimiser planned for a site, step by step, with the forecasts
and prices it planned with, so the plan page can set them against what was measured and a later
cycle can tell whether a new plan is worth a change (no flapping)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, new_id, utcnow


class BatteryPlanRow(Base):
    """One plan of one site's battery. ``steps`` holds the columns of the plan (lists of equal
    length, one value per step from ``start``): import_price, export_price, pv_w, load_w,
    battery_w, grid_w, soc. Costs in ``currency`` over the horizon: the plan, the same site
    without a battery, and plain self-consumption."""

    __tablename__ = "battery_plans"
    __table_args__ = (Index("ix_battery_plans_site_start", "site_id", "start"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    step_s: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    fallback_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    cost: Mapped[float] = mapped_column(Float)
    cost_no_battery: Mapped[float] = mapped_column(Float)
    cost_self_consumption: Mapped[float] = mapped_column(Float)
    pv_source: Mapped[str] = mapped_column(String(60), default="")
    load_source: Mapped[str] = mapped_column(String(60), default="")
    trigger: Mapped[str] = mapped_column(String(20), default="request")  # request | cycle | drift
    steps: Mapped[Any] = mapped_column(JSON)
    request: Mapped[Any] = mapped_column(JSON)  # what was asked (re-planning asks the same)
    kept_running: Mapped[bool] = mapped_column(Boolean, default=False)  # no flapping: see usecases
