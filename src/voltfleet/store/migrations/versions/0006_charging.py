"""charging: EV charging sessions (OCPP transactions)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "charging_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("id_tag", sa.String(length=20), nullable=False),
        sa.Column("started_at", utc, nullable=False),
        sa.Column("stopped_at", utc, nullable=True),
        sa.Column("meter_start_wh", sa.Float(), nullable=False),
        sa.Column("meter_stop_wh", sa.Float(), nullable=True),
        sa.Column("energy_wh", sa.Float(), nullable=True),
        sa.Column("stop_reason", sa.String(length=20), nullable=False),
        sa.Column("meter_last_wh", sa.Float(), nullable=True),
        sa.Column("power_w", sa.Float(), nullable=True),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transaction_id"),
    )
    op.create_index(
        "ix_charging_sessions_site_started", "charging_sessions", ["site_id", "started_at"]
    )
    op.create_index(
        "ix_charging_sessions_device_connector",
        "charging_sessions",
        ["device_id", "connector_id", "stopped_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_charging_sessions_device_connector", table_name="charging_sessions")
    op.drop_index("ix_charging_sessions_site_started", table_name="charging_sessions")
    op.drop_table("charging_sessions")
