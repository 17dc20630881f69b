"""Device alarms: raised by a gateway (HTTP or MQTT ingest), cleared by it, acknowledged by O&M."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.domain.alarms import level_of
from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id


def _level_default(context: Any) -> str:
    """A row inserted with only a severity gets the level of that severity."""
    return level_of(str(context.get_current_parameters().get("severity", ""))).value


class Alarm(Base):
    """One occurrence of an alarm code on a device, from ``raised_at`` until ``cleared_at``.

    At most one *open* alarm per device and code (partial unique index): a repeated raise is the
    same occurrence, so two ingest paths racing on it cannot open two rows.
    ``severity`` and ``level`` (the manual's urgent / important / common / prompt) are copied from
    the catalogue when raised, so a later catalogue change does not rewrite history.
    """

    __tablename__ = "alarms"
    __table_args__ = (
        Index(
            "uq_alarms_open_device_code",
            "device_id",
            "code",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
        Index("ix_alarms_site_active", "site_id", "cleared_at", "severity"),
        Index("ix_alarms_site_raised", "site_id", "raised_at"),
        Index("ix_alarms_device_raised", "device_id", "raised_at"),
        Index("ix_alarms_site_level", "site_id", "level", "raised_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))  # major | minor | warning
    level: Mapped[str] = mapped_column(String(10), default=_level_default)  # domain.alarms.Level
    message: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
