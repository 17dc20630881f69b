"""OCPP delivery between processes: the processes holding sockets, which holds which charger,
and the calls relayed to the holder (issue 18)

Revision ID: 0026
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0026"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "ocpp_relay_processes",
        sa.Column("process_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=63), nullable=False),
        sa.Column("started_at", utc, nullable=False),
        sa.Column("heartbeat_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )
    op.create_index(
        "ix_ocpp_relay_processes_heartbeat_at", "ocpp_relay_processes", ["heartbeat_at"]
    )
    op.create_table(
        "ocpp_relay_holders",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.String(length=10), nullable=False),
        sa.Column("since", utc, nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.create_index("ix_ocpp_relay_holders_serial", "ocpp_relay_holders", ["serial"])
    op.create_index("ix_ocpp_relay_holders_process_id", "ocpp_relay_holders", ["process_id"])
    op.create_table(
        "ocpp_relay_calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_id", sa.String(length=36), nullable=False),
        sa.Column("reply_channel", sa.String(length=63), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=20), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("answered_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ocpp_relay_calls_process_id", "ocpp_relay_calls", ["process_id"])


def downgrade() -> None:
    op.drop_table("ocpp_relay_calls")
    op.drop_table("ocpp_relay_holders")
    op.drop_table("ocpp_relay_processes")
