"""alarm levels (urgent / important / common / prompt), subscriptions and the delivery log

Stored alarms get the level of their severity (major -> urgent, minor -> important,
warning -> common: no prompt code existed before).

Revision ID: 0023
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(
            sa.Column("level", sa.String(length=10), nullable=False, server_default="common")
        )
    op.execute(
        "UPDATE alarms SET level = CASE severity WHEN 'major' THEN 'urgent' "
        "WHEN 'minor' THEN 'important' ELSE 'common' END"
    )
    op.create_index("ix_alarms_site_level", "alarms", ["site_id", "level", "raised_at"])
    op.create_table(
        "alarm_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("owner_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("site_ids", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alarm_subscriptions_org_id", "alarm_subscriptions", ["org_id"])
    op.create_index(
        "ix_alarm_subscriptions_owner_user_id", "alarm_subscriptions", ["owner_user_id"]
    )
    op.create_table(
        "alarm_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("alarm_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", utc, nullable=True),
        sa.Column("last_attempt_at", utc, nullable=True),
        sa.Column("delivered_at", utc, nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["alarm_subscriptions.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "alarm_id", "event", name="uq_alarm_delivery"),
    )
    op.create_index("ix_alarm_deliveries_due", "alarm_deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_alarm_deliveries_sub_created", "alarm_deliveries", ["subscription_id", "created_at"]
    )
    op.create_index("ix_alarm_deliveries_alarm_id", "alarm_deliveries", ["alarm_id"])


def downgrade() -> None:
    op.drop_table("alarm_deliveries")
    op.drop_table("alarm_subscriptions")
    op.drop_index("ix_alarms_site_level", table_name="alarms")
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("level")
