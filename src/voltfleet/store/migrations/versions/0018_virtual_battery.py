"""virtual batteries: configuration by a utility partner, the ledger per 15-minute interval,
the partner's market-partner ids for MSCONS (issue 17)

Revision ID: 0018
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voltfleet.store.db

revision = "0018"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = voltfleet.store.db.UTCDateTime(timezone=True)
    op.create_table(
        "virtual_batteries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("meter_id", sa.String(length=36), nullable=False),
        sa.Column("capacity_wh", sa.Float(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("reset_on", sa.Date(), nullable=True),
        sa.Column("reset_yearly", sa.Boolean(), nullable=False),
        sa.Column("dirty_from", utc, nullable=True),
        sa.Column("level_wh", sa.Float(), nullable=False),
        sa.Column("level_at", utc, nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["meter_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_virtual_batteries_org_id", "virtual_batteries", ["org_id"])
    op.create_index("ix_virtual_batteries_customer_id", "virtual_batteries", ["customer_id"])
    op.create_index("ix_virtual_batteries_site_id", "virtual_batteries", ["site_id"])
    op.create_index("ix_virtual_batteries_meter", "virtual_batteries", ["meter_id"])
    op.create_index("ix_virtual_batteries_dirty_from", "virtual_batteries", ["dirty_from"])
    op.create_table(
        "virtual_battery_intervals",
        sa.Column("battery_id", sa.String(length=36), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        *(
            sa.Column(name, sa.Float(), nullable=False)
            for name in (
                "import_wh",
                "export_wh",
                "level_wh",
                "charged_wh",
                "discharged_wh",
                "spilled_wh",
                "grid_import_wh",
                "forfeited_wh",
            )
        ),
        sa.ForeignKeyConstraint(["battery_id"], ["virtual_batteries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("battery_id", "start_us"),
    )
    op.create_table(
        "virtual_battery_market_partners",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("sender_id", sa.String(length=35), nullable=False),
        sa.Column("receiver_id", sa.String(length=35), nullable=False),
        sa.Column("format_version", sa.String(length=10), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id"),
    )


def downgrade() -> None:
    op.drop_table("virtual_battery_market_partners")
    op.drop_table("virtual_battery_intervals")
    op.drop_table("virtual_batteries")
