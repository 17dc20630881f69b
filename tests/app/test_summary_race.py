"""A site's summary built by two transactions at once (a page read and an ingest, or two
ingests, reaching a new site together): the second insert does nothing instead of failing its
request with a duplicate key (the demo's site list answered 500 once under load)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.app.test_site_list import new_site, world  # noqa: F401 (fixture)
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.store import summaries
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import SiteSummary


def test_a_summary_stored_meanwhile_by_another_transaction_is_left_alone(
    client: TestClient,
    runtime: Runtime,
    world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site_id = new_site(client, world, "Race home")
    with runtime.db.session() as s:  # the site list or an ingest may have built it already
        s.query(SiteSummary).filter_by(site_id=site_id).delete()
        s.commit()

    rebuild = summaries.sm.rebuild
    raced: list[str] = []

    def rebuild_while_another_commits(*args: Any, **kwargs: Any) -> Any:
        built = rebuild(*args, **kwargs)
        if not raced:  # between this call's "missing?" and its insert, another one stores it
            raced.append(site_id)
            with runtime.db.session() as other:
                site = other.get(Site, site_id)
                assert site is not None
                assert summaries.ensure(other, [site]) == {site_id}
                other.commit()
        return built

    monkeypatch.setattr(summaries.sm, "rebuild", rebuild_while_another_commits)
    with runtime.db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        assert summaries.ensure(s, [site]) == set()  # before: IntegrityError (duplicate key)
        s.commit()
    assert raced == [site_id]
    with runtime.db.session() as s:
        count = s.scalar(select(func.count()).select_from(SiteSummary).filter_by(site_id=site_id))
        assert count == 1
