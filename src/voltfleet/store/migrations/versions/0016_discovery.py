"""discovery: what each gateway found on its bus (auto-detect) and what became of each device

Revision ID: 0016
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltfleet.store.db import UTCDateTime

revision = "0016"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discovered_devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "gateway_id",
            sa.String(36),
            sa.ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("manufacturer", sa.String(60), nullable=False),
        sa.Column("model", sa.String(60), nullable=False),
        sa.Column("firmware", sa.String(40), nullable=False),
        sa.Column("sunspec_models", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("gateway_id", "serial"),
    )
    op.create_index("ix_discovered_devices_gateway_id", "discovered_devices", ["gateway_id"])


def downgrade() -> None:
    op.drop_index("ix_discovered_devices_gateway_id", table_name="discovered_devices")
    op.drop_table("discovered_devices")
