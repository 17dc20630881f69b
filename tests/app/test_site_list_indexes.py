"""The site list of 10,000 sites counts a scope's sites from an index, not whole rows (issue 19,
session 3; benchmarks/bench_site_list.py): the status counts of the list and the home page use
migration 0036's covering index. SQLite's query plan says so."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.support.world import World, build_world
from voltfleet.app.deps import Caller
from voltfleet.app.runtime import Runtime
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.store.models import Org, User


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def _params(sql: str, caller: Caller) -> tuple[str, ...]:
    """The statement's parameters: the caller's scope (organisation path patterns)."""
    return tuple([caller.scope_path.replace("/", "//")] * sql.count("?"))


def test_status_counts_read_the_covering_index(runtime: Runtime, world: World) -> None:
    if runtime.db.url.startswith("postgresql"):
        pytest.skip("the plan of SQLite, the embedded default")
    with runtime.db.session() as s:
        user = s.get(User, world.accounts["admin@I1"].id)
        org = s.get(Org, world.org_id("I1"))
        assert user is not None and org is not None
        caller = Caller(user=user, org=org, address="")
        said: list[str] = []

        def keep(*args: object) -> None:
            said.append(str(args[2]))  # the statement

        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", keep)
        try:
            SiteRepository(s, caller).status_counts()
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        (sql,) = said
        rows = s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", _params(sql, caller))
        assert "COVERING INDEX ix_sites_scope_list" in "\n".join(str(r[3]) for r in rows)
