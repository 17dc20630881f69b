"""Tables. Every tenant-owned row carries the organisation it belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from voltfleet.store.db import Base, UTCDateTime, clock_now, new_id
from voltfleet.store.site_names import install_name_key, site_name_key


class Org(Base):
    """An organisation: the platform at the top, distributors and installers below a superior.

    ``path`` is the chain of ids from the root ("/<root>/<child>/"), so "this org and everything
    below it" is one indexed prefix query.
    """

    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))  # platform | distributor | installer
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    path: Mapped[str] = mapped_column(String(2000), index=True)
    access_code: Mapped[str] = mapped_column(String(16), unique=True)
    country: Mapped[str] = mapped_column(String(2), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    # The company page (issue 19): postal address and logo (migration 0022).
    address: Mapped[str] = mapped_column(String(500), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    logo_type: Mapped[str] = mapped_column(String(30), default="")


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # admin | om | owner
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    country: Mapped[str] = mapped_column(String(2), default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    avatar: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    avatar_type: Mapped[str] = mapped_column(String(30), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    # Set when someone else reset the password (a temporary one was mailed): until the user
    # chooses a new one, the API refuses everything else and the portal asks for it.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who looks after this user (a user of the same organisation or above), and a free note.
    supervisor_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    # Portal preferences (issue 19, app/formatting.py): "" means the browser's language, UTC, and
    # the formats of the language.
    language: Mapped[str] = mapped_column(String(5), default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    formats: Mapped[str] = mapped_column(String(5), default="", server_default="")


class ApiKey(Base):
    """An integration credential. Only a SHA-256 of the key is kept; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VerificationCode(Base):
    """A short code mailed to an address (registration, password reset, change of email)."""

    __tablename__ = "verification_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)


class OutboxMail(Base):
    """Every mail voltfleet sends, kept so a person can read it (the demo has no SMTP server)."""

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    to: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    sent_via: Mapped[str] = mapped_column(String(10))  # smtp | outbox
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now, index=True)


class AuditEntry(Base):
    """Who changed what, when and from where."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_org_at", "org_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    actor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    org_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(36), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str] = mapped_column(String(64), default="")


class Site(Base):
    """A home or small business (plant/station in other clouds).

    ``status`` is kept from the statuses of the site's devices (see domain.fleet.site_status), so
    lists filter and count by it without reading every device. A deleted site keeps its row and
    its telemetry until ``purge_after`` (the retention period); ``deleted_at`` hides it.
    """

    __tablename__ = "sites"
    __table_args__ = (
        Index("ix_sites_country_region", "country", "region"),
        Index("ix_sites_org_status", "org_id", "status"),
        # covering: the site list counts and sorts a scope's sites from the index (0036)
        Index("ix_sites_scope_list", "org_id", "deleted_at", "status", "name_key", "timezone"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # The name in natural order ("home 6" before "home 10"), kept by store/site_names.py.
    name_key: Mapped[str] = mapped_column(String, default=site_name_key, index=True)
    address: Mapped[str] = mapped_column(String(500), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(10), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    site_type: Mapped[str] = mapped_column(String(20), default="residential_ess")
    on_grid: Mapped[bool] = mapped_column(Boolean, default=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    temperature_unit: Mapped[str] = mapped_column(String(1), default="C")
    capacity_kwp: Mapped[float] = mapped_column(Float, default=0.0)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    picture: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    picture_type: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[str] = mapped_column(String(10), default="no_device")
    # Statistical range: whether inverters and meters count in the site's statistics at all
    # (each device also has its own in_statistics flag).
    stats_inverters: Mapped[bool] = mapped_column(Boolean, default=True)
    stats_meters: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now, onupdate=clock_now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    deleted_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


install_name_key(Site.name)


class SiteShare(Base):
    __tablename__ = "site_shares"
    __table_args__ = (UniqueConstraint("site_id", "org_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    shared_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock_now)
