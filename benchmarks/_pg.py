"""PostgreSQL for the benchmarks: a scratch database on the server named by
``VOLTFLEET_BENCH_PG_URL`` (created and dropped), or else on a throwaway server started on
loopback (tests/support/pg_server.py) with durable commits, as in production (fsync, synchronous
commit and full-page writes on; ``VOLTFLEET_BENCH_PG_FAST=1`` turns them off), or none when
PostgreSQL is not installed. Each figure's label says which."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """The URL of a PostgreSQL server to make scratch databases on, or None."""
    given = os.environ.get("VOLTFLEET_BENCH_PG_URL")
    if given:
        yield given
        return
    from tests.support.pg_server import PgServer, pg_bindir

    bindir = pg_bindir()
    if bindir is None:
        yield None
        return
    server = PgServer(bindir, durable=os.environ.get("VOLTFLEET_BENCH_PG_FAST") != "1")
    try:
        yield server.start()
    finally:
        server.stop()


@contextmanager
def scratch_database(server_url: str, tag: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    name = f"voltfleet_bench_{tag}_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with suppress(Exception), admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def fsync_of(url: str) -> str:
    """The server's fsync setting ("on" or "off"), for the figure's label."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW fsync")).scalar_one())
    finally:
        engine.dispose()


SKIPPED = "\nPostgreSQL: skipped (no server: set VOLTFLEET_BENCH_PG_URL or install postgresql)"
