"""exchange reference rates (ECB, per day and currency) and the state of each market area's
day-ahead price fetch (last fetched, covered until, operator alarm) (issue 19)

Revision ID: 0024
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0024"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("per_eur", sa.String(length=32), nullable=False),
        sa.Column("fetched_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "day", "currency"),
    )
    op.create_index("ix_exchange_rates_day", "exchange_rates", ["day"])
    op.create_table(
        "market_fetch_status",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=False),
        sa.Column("last_attempt_at", utc, nullable=True),
        sa.Column("last_success_at", utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("covered_until", utc, nullable=True),
        sa.Column("alarm_since", utc, nullable=True),
        sa.Column("alarm_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "area"),
    )


def downgrade() -> None:
    op.drop_table("market_fetch_status")
    op.drop_index("ix_exchange_rates_day", table_name="exchange_rates")
    op.drop_table("exchange_rates")
