"""counter restarts: an energy counter of a device restarted (a replaced meter, a firmware
reset), recorded by O&M and applied by ingest and the roll-ups

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "counter_restarts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("point", sa.String(length=64), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("start_wh", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "point", "at", name="uq_counter_restarts_device_point_at"),
    )


def downgrade() -> None:
    op.drop_table("counter_restarts")
