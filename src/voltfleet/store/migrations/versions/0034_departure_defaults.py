"""Default departures (issue 13): ``ev_tag_departure_defaults`` (an id tag's usual departure
time of day and energy need) and ``ev_connector_departure_defaults`` (a connector's, for
sessions whose tag has none).

Revision ID: 0034
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0034"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "ev_tag_departure_defaults",
        sa.Column("id_tag_id", sa.String(length=36), nullable=False),
        sa.Column("departure_time", sa.String(length=5), nullable=False),
        sa.Column("energy_need_wh", sa.Float(), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["id_tag_id"], ["id_tags.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_tag_id"),
    )
    op.create_table(
        "ev_connector_departure_defaults",
        sa.Column("connector_id", sa.String(length=36), nullable=False),
        sa.Column("departure_time", sa.String(length=5), nullable=False),
        sa.Column("energy_need_wh", sa.Float(), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connector_id"),
    )


def downgrade() -> None:
    op.drop_table("ev_connector_departure_defaults")
    op.drop_table("ev_tag_departure_defaults")
