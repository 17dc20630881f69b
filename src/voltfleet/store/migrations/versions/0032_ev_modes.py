"""EV departure times and 1p/3p switching (issue 13): ``ev_session_departures`` (a session's
departure and energy need) and ``power_phase_switching`` (a connector that can switch phases,
its timers and state).

Revision ID: 0032
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0032"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "ev_session_departures",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("departure_at", utc, nullable=False),
        sa.Column("energy_need_wh", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["charging_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "power_phase_switching",
        sa.Column("power_connector_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("up_delay_s", sa.Float(), nullable=False),
        sa.Column("down_delay_s", sa.Float(), nullable=False),
        sa.Column("min_interval_s", sa.Float(), nullable=False),
        sa.Column("phases", sa.Integer(), nullable=False),
        sa.Column("want", sa.Integer(), nullable=True),
        sa.Column("want_since", utc, nullable=True),
        sa.Column("switched_at", utc, nullable=True),
        sa.ForeignKeyConstraint(
            ["power_connector_id"], ["power_connectors.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["location_id"], ["power_locations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("power_connector_id"),
    )
    op.create_index(
        "ix_power_phase_switching_location_id", "power_phase_switching", ["location_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_power_phase_switching_location_id", table_name="power_phase_switching")
    op.drop_table("power_phase_switching")
    op.drop_table("ev_session_departures")
