"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import voltfleet.store.all_models  # noqa: F401
from voltfleet.app.runtime import Runtime
from voltfleet.store.db import Base


def test_migrations_match_models(runtime: Runtime) -> None:
    with runtime.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, Base.metadata)
    # Ignore the partitions or helper tables an adapter creates at run time, if any.
    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table")]
    assert diff == [], f"models and migrations differ: {diff}"
