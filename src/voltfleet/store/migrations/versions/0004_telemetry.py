"""telemetry: readings (partitioned by month on PostgreSQL), roll-ups, gateway credentials,
quarantine

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "device_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("revoked_at", utc, nullable=True),
        sa.Column("last_used_at", utc, nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_device_credentials_device_id", "device_credentials", ["device_id"])
    op.create_table(
        "quarantined_readings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("received_at", utc, nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("gateway_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("device_ref", sa.String(length=64), nullable=False),
        sa.Column("point", sa.String(length=64), nullable=False),
        sa.Column("ts", utc, nullable=True),
        sa.Column("ts_text", sa.String(length=64), nullable=False),
        sa.Column("value_text", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["gateway_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_quarantined_readings_site_received", "quarantined_readings", ["site_id", "received_at"]
    )
    op.create_index("ix_quarantined_readings_device", "quarantined_readings", ["device_id"])
    op.create_index("ix_quarantined_readings_reason", "quarantined_readings", ["reason"])

    # The time series: owned by the adapters in store/timeseries, not by the ORM.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE readings (device_id varchar(36) NOT NULL, point varchar(64) NOT NULL, "
            "ts timestamptz NOT NULL, value double precision NOT NULL, "
            "PRIMARY KEY (device_id, point, ts)) PARTITION BY RANGE (ts)"
        )
        op.execute(
            "CREATE TABLE rollups (device_id varchar(36) NOT NULL, point varchar(64) NOT NULL, "
            "resolution varchar(8) NOT NULL, start timestamptz NOT NULL, "
            "value double precision NOT NULL, samples integer NOT NULL, low double precision, "
            "high double precision, PRIMARY KEY (device_id, point, resolution, start))"
        )
    else:
        op.execute(
            "CREATE TABLE readings (device_id TEXT NOT NULL, point TEXT NOT NULL, "
            "ts_us INTEGER NOT NULL, value REAL NOT NULL, "
            "PRIMARY KEY (device_id, point, ts_us)) WITHOUT ROWID"
        )
        op.execute(
            "CREATE TABLE rollups (device_id TEXT NOT NULL, point TEXT NOT NULL, "
            "resolution TEXT NOT NULL, start_us INTEGER NOT NULL, value REAL NOT NULL, "
            "samples INTEGER NOT NULL, low REAL, high REAL, "
            "PRIMARY KEY (device_id, point, resolution, start_us)) WITHOUT ROWID"
        )


def downgrade() -> None:
    op.execute("DROP TABLE rollups")
    op.execute("DROP TABLE readings")  # on PostgreSQL, drops its partitions too
    op.drop_table("quarantined_readings")
    op.drop_table("device_credentials")
