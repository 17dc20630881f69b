from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import voltfleet.store.all_models  # noqa: F401  (registers every table on Base.metadata)
from voltfleet.store.db import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""


def run_migrations_online() -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
