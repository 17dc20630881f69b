"""power management: a site's fuse tree (groups with meters, connectors with phase rotation),
its mode and settings, and what each connector was last told

Revision ID: 0013
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltfleet.store.db import UTCDateTime

revision = "0013"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "power_locations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "site_id", sa.String(36), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("grid_type", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("solar_backup_s", sa.Float(), nullable=False),
        sa.Column("min_solar_share", sa.Float(), nullable=False),
        sa.Column("meter_stale_s", sa.Float(), nullable=False),
        sa.Column("raise_hold_s", sa.Float(), nullable=False),
        sa.Column("surplus_seen_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_power_locations_site_id", "power_locations", ["site_id"], unique=True)
    op.create_table(
        "power_groups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "location_id",
            sa.String(36),
            sa.ForeignKey("power_locations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "parent_id",
            sa.String(36),
            sa.ForeignKey("power_groups.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("fuse_a", sa.Float(), nullable=False),
        sa.Column("fallback_a", sa.Float(), nullable=True),
        sa.Column(
            "meter_device_id",
            sa.String(36),
            sa.ForeignKey("devices.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("peak_current_a", sa.Float(), nullable=True),
        sa.Column("peak_power_kw", sa.Float(), nullable=True),
        sa.Column("peak_start_min", sa.Integer(), nullable=True),
        sa.Column("peak_end_min", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_power_groups_location_id", "power_groups", ["location_id"])
    op.create_index("ix_power_groups_meter_device_id", "power_groups", ["meter_device_id"])
    op.create_table(
        "power_connectors",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "location_id",
            sa.String(36),
            sa.ForeignKey("power_locations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "group_id",
            sa.String(36),
            sa.ForeignKey("power_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "connector_id",
            sa.String(36),
            sa.ForeignKey("connectors.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("rotation", sa.String(3), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("applied_a", sa.Float(), nullable=True),
        sa.Column("raise_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_a", sa.Float(), nullable=True),
        sa.Column("sent_phases", sa.Integer(), nullable=True),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("fallback_sent_a", sa.Float(), nullable=True),
    )
    op.create_index("ix_power_connectors_location", "power_connectors", ["location_id"])


def downgrade() -> None:
    op.drop_table("power_connectors")
    op.drop_table("power_groups")
    op.drop_table("power_locations")
