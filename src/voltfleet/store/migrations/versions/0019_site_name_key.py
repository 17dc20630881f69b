"""sites: the name in natural order, indexed, for the site list's default sort; devices: an
index for the list's online rate

``sites.name_key`` is the site name as domain.natural writes it ("home 6" before "home 10"), kept
by the ORM (store/site_names.py); existing rows are filled here. ``ix_devices_site_live_status``
lets the online rate of every site be counted from the index alone.

Revision ID: 0019
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltfleet.domain.natural import natural_key

revision = "0019"
down_revision = "0014"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    op.add_column(
        "sites",
        sa.Column("name_key", sa.String(), nullable=False, server_default=""),
    )
    sites = sa.table(
        "sites",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(sites.c.id, sites.c.name)).all()
    for k in range(0, len(rows), _BATCH):
        conn.execute(
            sites.update().where(sites.c.id == sa.bindparam("site_id")),
            [{"site_id": i, "name_key": natural_key(n or "")} for i, n in rows[k : k + _BATCH]],
        )
    with op.batch_alter_table("sites") as batch:
        batch.alter_column("name_key", server_default=None)
    op.create_index("ix_sites_name_key", "sites", ["name_key"])
    op.create_index("ix_devices_site_live_status", "devices", ["site_id", "deleted_at", "status"])


def downgrade() -> None:
    op.drop_index("ix_devices_site_live_status", table_name="devices")
    op.drop_index("ix_sites_name_key", table_name="sites")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("name_key")
