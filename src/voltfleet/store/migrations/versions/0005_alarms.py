"""alarms: device alarm occurrences (raise / clear / acknowledge)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "alarms",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", utc, nullable=False),
        sa.Column("cleared_at", utc, nullable=True),
        sa.Column("acknowledged_at", utc, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=36), nullable=True),
        sa.Column("received_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_alarms_open_device_code",
        "alarms",
        ["device_id", "code"],
        unique=True,
        sqlite_where=sa.text("cleared_at IS NULL"),
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index("ix_alarms_site_active", "alarms", ["site_id", "cleared_at", "severity"])
    op.create_index("ix_alarms_site_raised", "alarms", ["site_id", "raised_at"])
    op.create_index("ix_alarms_device_raised", "alarms", ["device_id", "raised_at"])


def downgrade() -> None:
    op.drop_index("ix_alarms_device_raised", table_name="alarms")
    op.drop_index("ix_alarms_site_raised", table_name="alarms")
    op.drop_index("ix_alarms_site_active", table_name="alarms")
    op.drop_index("uq_alarms_open_device_code", table_name="alarms")
    op.drop_table("alarms")
