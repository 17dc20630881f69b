"""fleet: devices, connectors, device status history, user preferences; sites extended

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 23:42:25.414964
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_preferences",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subtype", sa.String(length=10), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("registration_no", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("fw_dsp", sa.String(length=40), nullable=False),
        sa.Column("fw_lcd", sa.String(length=40), nullable=False),
        sa.Column("fw_arm", sa.String(length=40), nullable=False),
        sa.Column("comm_address", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_seen", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rated_power_w", sa.Float(), nullable=True),
        sa.Column("live_data", sa.String(length=20), nullable=False),
        sa.Column("live_data_enabled", sa.Boolean(), nullable=False),
        sa.Column("in_statistics", sa.Boolean(), nullable=False),
        sa.Column("created_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("deleted_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["devices.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_live_data"), ["live_data"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_model"), ["model"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_devices_registration_no", ["registration_no"], unique=False)
        batch_op.create_index("ix_devices_site_kind", ["site_id", "kind"], unique=False)
        batch_op.create_index("ix_devices_status", ["status"], unique=False)
        batch_op.create_index(
            "uq_devices_serial_live",
            ["serial"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "connectors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("charger_id", sa.String(length=36), nullable=False),
        sa.Column("connector_no", sa.Integer(), nullable=False),
        sa.Column("plug", sa.String(length=20), nullable=False),
        sa.Column("max_current_a", sa.Float(), nullable=False),
        sa.Column("phases", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["charger_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("charger_id", "connector_no"),
    )
    op.create_table(
        "device_status_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("device_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_status_changes_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index("ix_device_status_changes_site_at", ["site_id", "at"], unique=False)

    with op.batch_alter_table("site_shares", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shared_by", sa.String(length=36), nullable=True))

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("picture", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("picture_type", sa.String(length=30), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), nullable=False, server_default="no_device")
        )
        batch_op.add_column(
            sa.Column("stats_inverters", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("stats_meters", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column(
                "updated_at",
                voltfleet.store.db.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.add_column(
            sa.Column("deleted_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("deleted_by", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("purge_after", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_sites_country_region", ["country", "region"], unique=False)
        batch_op.create_index(batch_op.f("ix_sites_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index("ix_sites_org_status", ["org_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index("ix_sites_org_status")
        batch_op.drop_index(batch_op.f("ix_sites_deleted_at"))
        batch_op.drop_index("ix_sites_country_region")
        batch_op.drop_column("purge_after")
        batch_op.drop_column("deleted_by")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("stats_meters")
        batch_op.drop_column("stats_inverters")
        batch_op.drop_column("status")
        batch_op.drop_column("picture_type")
        batch_op.drop_column("picture")

    with op.batch_alter_table("site_shares", schema=None) as batch_op:
        batch_op.drop_column("shared_by")

    with op.batch_alter_table("device_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_device_status_changes_site_at")
        batch_op.drop_index(batch_op.f("ix_device_status_changes_device_id"))

    op.drop_table("device_status_changes")
    op.drop_table("connectors")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_devices_serial_live",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_devices_status")
        batch_op.drop_index("ix_devices_site_kind")
        batch_op.drop_index("ix_devices_registration_no")
        batch_op.drop_index(batch_op.f("ix_devices_parent_id"))
        batch_op.drop_index(batch_op.f("ix_devices_model"))
        batch_op.drop_index(batch_op.f("ix_devices_live_data"))

    op.drop_table("devices")
    op.drop_table("user_preferences")
