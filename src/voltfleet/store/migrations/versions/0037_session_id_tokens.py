"""a charging session keeps the whole id token: 36 characters (OCPP 2.0.1's IdToken)

``charging_sessions.id_tag`` held 20 characters, OCPP 1.6's IdToken. A 2.0.1 station's idToken
is up to 36 (an eMAID, a central token such as a UUID), so the session kept only its first 20:
the sessions table, the session CSV and the card's link in the portal named a card that does
not exist. The id-tag list (``id_tags.tag``) was 36 already.

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("charging_sessions") as batch:
        batch.alter_column(
            "id_tag", existing_type=sa.String(20), type_=sa.String(36), existing_nullable=False
        )


def downgrade() -> None:
    # Tokens longer than 20 characters are cut to their first 20, as they were stored before.
    op.execute(
        "UPDATE charging_sessions SET id_tag = substr(id_tag, 1, 20) WHERE length(id_tag) > 20"
    )
    with op.batch_alter_table("charging_sessions") as batch:
        batch.alter_column(
            "id_tag", existing_type=sa.String(36), type_=sa.String(20), existing_nullable=False
        )
