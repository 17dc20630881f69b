"""ocpp: OCPP 2.0.1 transaction ids beside the platform's, and the id tags of a site

``charging_sessions.transaction_ref`` keeps a 2.0.1 charger's own transaction id (a string); the
platform's integer ``transaction_id`` stays the session's key. ``id_tags``: the RFID cards and
tokens a site's chargers accept.

Revision ID: 0014
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.add_column(
        "charging_sessions", sa.Column("transaction_ref", sa.String(length=36), nullable=True)
    )
    op.create_index(
        "ix_charging_sessions_device_ref",
        "charging_sessions",
        ["device_id", "transaction_ref"],
    )
    op.create_table(
        "id_tags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "tag"),
    )
    op.create_index("ix_id_tags_site_id", "id_tags", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_id_tags_site_id", table_name="id_tags")
    op.drop_table("id_tags")
    op.drop_index("ix_charging_sessions_device_ref", table_name="charging_sessions")
    with op.batch_alter_table("charging_sessions") as batch:
        batch.drop_column("transaction_ref")
