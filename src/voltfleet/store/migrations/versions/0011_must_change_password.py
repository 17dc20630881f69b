"""must change password: a user whose password someone else reset chooses a new one first

An administrator's or O&M engineer's reset no longer lets them choose the password: a temporary one
is mailed to the user, and ``users.must_change_password`` holds the user to changing it at their
next sign-in (the API refuses every other request meanwhile). Existing users are not affected.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
