"""Shared fixtures: the same app tests run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.support.pg_server import PgServer, pg_bindir
from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.settings import Settings
from voltfleet.store.db import Base

BACKENDS = ["sqlite", "postgresql"]


def test_settings(tmp: Path, url: str) -> Settings:
    return Settings(
        mode="test",
        data_dir=tmp,
        database_url=url,
        secret_key="test-secret-" + "x" * 40,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    given = os.environ.get("VOLTFLEET_TEST_PG_URL")
    if given:
        yield given
        return
    bindir = pg_bindir()
    if bindir is None:
        if os.environ.get("VOLTFLEET_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL is required (VOLTFLEET_REQUIRE_PG=1) but pg_ctl was not found")
        yield None
        return
    server = PgServer(bindir)
    try:
        yield server.start()
    finally:
        server.stop()


_runtimes: dict[str, tuple[Runtime, FastAPI]] = {}


@pytest.fixture(scope="session")
def _apps(pg_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    tmp = tmp_path_factory.mktemp("db")
    return {"sqlite": f"sqlite:///{tmp / 'test.db'}", "postgresql": pg_url}


def _truncate(runtime: Runtime) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with runtime.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=BACKENDS)
def runtime(
    request: pytest.FixtureRequest,
    _apps: dict[str, str | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Runtime]:
    backend = request.param
    url = _apps[backend]
    if url is None:
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    if backend not in _runtimes:
        rt = build_runtime(test_settings(tmp_path_factory.mktemp(backend), url))
        _runtimes[backend] = (rt, create_app(runtime=rt))
    rt, _ = _runtimes[backend]
    _truncate(rt)
    rt.limiter.reset()
    yield rt


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    # The platform organisation is created at start-up; after truncation create it again.
    from voltfleet.accounts import ensure_platform

    with runtime.db.session() as s:
        ensure_platform(s)
    return _runtimes["postgresql" if runtime.db.url.startswith("postgresql") else "sqlite"][1]


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
