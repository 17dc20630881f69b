"""battery plans: each plan the optimiser made for a site, with its forecasts, prices and costs

Revision ID: 0015
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "battery_plans",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "site_id", sa.String(36), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "device_id",
            sa.String(36),
            sa.ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("start", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step_s", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("cost_no_battery", sa.Float(), nullable=False),
        sa.Column("cost_self_consumption", sa.Float(), nullable=False),
        sa.Column("pv_source", sa.String(60), nullable=False),
        sa.Column("load_source", sa.String(60), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("kept_running", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_battery_plans_site_start", "battery_plans", ["site_id", "start"])


def downgrade() -> None:
    op.drop_index("ix_battery_plans_site_start", table_name="battery_plans")
    op.drop_table("battery_plans")
