"""site summaries: each site's current energy figures and PV power for the fleet home page;
each device's newest PV power sample

Derived data, filled by ingest and rebuilt from the roll-ups when missing, so the table starts
empty.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_summaries",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("day_us", sa.BigInteger(), nullable=False),
        sa.Column("month_us", sa.BigInteger(), nullable=False),
        sa.Column("year_us", sa.BigInteger(), nullable=False),
        *[
            sa.Column(f"{p}_{period}", sa.Float(), nullable=False)
            for p in ("pv", "export")
            for period in ("day", "month", "year", "total")
        ],
        sa.Column("power_w", sa.Float(), nullable=True),
        sa.Column("power_us", sa.BigInteger(), nullable=True),
        *[sa.Column(f"pv_m{k}", sa.Float(), nullable=False) for k in range(12)],
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id"),
    )

    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("pv_power_w", sa.Float(), nullable=True))
        batch.add_column(sa.Column("pv_power_at", utc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("pv_power_at")
        batch.drop_column("pv_power_w")
    op.drop_table("site_summaries")
