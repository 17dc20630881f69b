"""covering indexes for the site list of 10,000 sites (issue 19, session 3)

Profiled with py-spy (benchmarks/bench_site_list.py): most of a list request's CPU went on
SQLite reading whole rows of ``sites`` (to check ``deleted_at``, count statuses, find
``name_key``) and of ``site_summaries`` (a wide row of 30 figures, to sort by power now or
today's yield). Two covering indexes let those queries read index entries only:

* ``ix_sites_scope_list``: a scope's sites by organisation, not deleted, with what the list
  counts and sorts by (status, natural name, zone);
* ``ix_site_summaries_now``: a summary's power now and today's yield with their times.

Revision ID: 0036
Revises: 0027
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sites_scope_list",
        "sites",
        ["org_id", "deleted_at", "status", "name_key", "timezone"],
    )
    op.create_index(
        "ix_site_summaries_now",
        "site_summaries",
        ["site_id", "power_us", "power_w", "day_us", "pv_day"],
    )


def downgrade() -> None:
    op.drop_index("ix_site_summaries_now", table_name="site_summaries")
    op.drop_index("ix_sites_scope_list", table_name="sites")
