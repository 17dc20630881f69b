"""OCPP: the id tags (RFID cards, app tokens) a site's chargers accept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, new_id, utcnow


class IdTag(Base):
    """An id tag of a site: a charger of the site answers Authorize (and a transaction's start)
    with Accepted for an active tag of its site and Invalid for any other, once the site has
    at least one tag (a site without tags accepts every tag: a home charger's own car)."""

    __tablename__ = "id_tags"
    __table_args__ = (UniqueConstraint("site_id", "tag"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
