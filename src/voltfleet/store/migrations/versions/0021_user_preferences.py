"""user preferences: language, time zone and formats of a portal user (issue 19)

``users.language``: "" (the browser's, by Accept-Language), "en" or "de".
``users.timezone``: the IANA zone of fleet-wide pages ("" means UTC).
``users.formats``: how dates, times and numbers are written ("" follows the language; "iso",
"en-GB", "en-US" or "de-DE").

Revision ID: 0021
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=5), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("formats", sa.String(length=5), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("formats")
        batch.drop_column("timezone")
        batch.drop_column("language")
