"""the newest lifetime yield counter reading of each inverter, for "total yield" (issue 19)

Revision ID: 0027
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0027"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "lifetime_yields",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("yield_wh", sa.Float(), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade() -> None:
    op.drop_table("lifetime_yields")
