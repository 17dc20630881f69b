"""register maps: vendor register maps uploaded per device model and organisation

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "register_maps",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("device_model", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "device_model", name="uq_register_maps_model"),
    )
    op.create_index("ix_register_maps_org_id", "register_maps", ["org_id"])
    op.create_index("ix_register_maps_device_model", "register_maps", ["device_model"])


def downgrade() -> None:
    op.drop_index("ix_register_maps_device_model", table_name="register_maps")
    op.drop_index("ix_register_maps_org_id", table_name="register_maps")
    op.drop_table("register_maps")
