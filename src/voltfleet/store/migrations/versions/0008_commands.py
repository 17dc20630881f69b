"""commands: device commands (battery mode / setpoint) from queued to acknowledged, failed or
expired, delivered over HTTP polling or MQTT

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "commands",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("gateway_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("not_before", utc, nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.Column("sent_at", utc, nullable=True),
        sa.Column("sent_via", sa.String(length=8), nullable=True),
        sa.Column("replied_at", utc, nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["gateway_id"], ["devices.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_commands_device_created", "commands", ["device_id", "created_at"])
    op.create_index("ix_commands_gateway_state", "commands", ["gateway_id", "state"])
    op.create_index("ix_commands_state_expires", "commands", ["state", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_commands_state_expires", table_name="commands")
    op.drop_index("ix_commands_gateway_state", table_name="commands")
    op.drop_index("ix_commands_device_created", table_name="commands")
    op.drop_table("commands")
