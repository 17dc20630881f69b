"""firmware: releases and their files, upgrade tasks (campaigns) and their devices' runs, the
firmware versions devices report, commissioning reports

Revision ID: 0017
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firmware_releases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("org_path", sa.String(length=2000), nullable=False),
        sa.Column("device_kind", sa.String(length=10), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("firmware_type", sa.String(length=48), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=True),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("created_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("creator_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "model", "firmware_type", "version"),
    )
    with op.batch_alter_table("firmware_releases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_firmware_releases_model_type", ["model", "firmware_type"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_firmware_releases_org_path"), ["org_path"], unique=False
        )

    op.create_table(
        "firmware_files",
        sa.Column("release_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["firmware_releases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id"),
    )
    op.create_table(
        "firmware_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("org_path", sa.String(length=2000), nullable=False),
        sa.Column("release_id", sa.String(length=36), nullable=False),
        sa.Column("device_kind", sa.String(length=10), nullable=False),
        sa.Column("firmware_type", sa.String(length=48), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("start_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reserved", sa.Boolean(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("unlocked_wave", sa.Integer(), nullable=False),
        sa.Column("failed_baseline", sa.Integer(), nullable=False),
        sa.Column("finished_baseline", sa.Integer(), nullable=False),
        sa.Column("allow_downgrade", sa.Boolean(), nullable=False),
        sa.Column("created_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("creator_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["release_id"], ["firmware_releases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("firmware_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_firmware_tasks_number"), ["number"], unique=False)
        batch_op.create_index(batch_op.f("ix_firmware_tasks_org_path"), ["org_path"], unique=False)
        batch_op.create_index("ix_firmware_tasks_state", ["state"], unique=False)

    op.create_table(
        "commissioning_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("device_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("finished_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("commissioning_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commissioning_reports_site_id"), ["site_id"], unique=False
        )

    op.create_table(
        "device_firmware",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("firmware_type", sa.String(length=48), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("reported_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "firmware_type"),
    )
    op.create_table(
        "firmware_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("from_version", sa.String(length=40), nullable=False),
        sa.Column("started_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_try_at", voltfleet.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offline_attempts", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.String(length=36), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["firmware_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "device_id"),
    )
    with op.batch_alter_table("firmware_runs", schema=None) as batch_op:
        batch_op.create_index("ix_firmware_runs_device", ["device_id", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("firmware_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_firmware_runs_device")

    op.drop_table("firmware_runs")
    op.drop_table("device_firmware")
    with op.batch_alter_table("commissioning_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commissioning_reports_site_id"))

    op.drop_table("commissioning_reports")
    with op.batch_alter_table("firmware_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_firmware_tasks_state")
        batch_op.drop_index(batch_op.f("ix_firmware_tasks_org_path"))
        batch_op.drop_index(batch_op.f("ix_firmware_tasks_number"))

    op.drop_table("firmware_tasks")
    op.drop_table("firmware_files")
    with op.batch_alter_table("firmware_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_firmware_releases_org_path"))
        batch_op.drop_index("ix_firmware_releases_model_type")

    op.drop_table("firmware_releases")
