"""Page numbers and sizes beyond any real list (issue 12, defect 6): every list endpoint that
takes the pagination dependency refuses them with a 422 naming the limit (on SQLite and on
PostgreSQL, whose bigint offset overflowed), the largest allowed page answers an empty page, and
the portal's paged pages (which clamp) never answer a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient

from tests.app.test_telemetry import make_site
from tests.support.world import PASSWORD, World, build_world
from voltfleet.app.pagination import MAX_PAGE, MAX_PAGE_SIZE, _page_params
from voltfleet.app.runtime import Runtime

HUGE = 10**18


def _uses(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _uses(d, call) for d in dependant.dependencies)


def _routes(app: FastAPI) -> Iterator[tuple[str, set[str], Dependant]]:
    for context in fastapi.routing.iter_route_contexts(app.routes):
        route = context.route
        dependant = getattr(route, "dependant", None)
        if dependant is not None:
            yield context.path, set(getattr(route, "methods", ())), dependant


def paged_api_routes(app: FastAPI) -> list[str]:
    return sorted(p for p, m, d in _routes(app) if "GET" in m and _uses(d, _page_params))


def paged_pages(app: FastAPI) -> list[str]:
    return sorted(
        p
        for p, m, d in _routes(app)
        if "GET" in m
        and not p.startswith("/api/")
        and any(q.name == "page" for q in d.query_params)
    )


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_every_paged_list_refuses_pages_beyond_the_limit(
    client: TestClient, app: FastAPI, world: World
) -> None:
    ids = make_site(client, world, "GWP1")
    routes = paged_api_routes(app)
    assert len(routes) >= 9 and "/api/v1/alarms" in routes, routes
    headers = world.accounts["admin@I1"].headers()
    release = client.post(
        "/api/v1/firmware/releases",
        data={"model": "CPS WiFi Kit", "firmware_type": "gateway", "version": "1.0"},
        files={"file": ("fw.bin", b"firmware", "application/octet-stream")},
        headers=headers,
    )
    assert release.status_code == 201, release.text
    for template in routes:
        path = template.replace("{device_id}", ids["GWP1"]).replace("{site_id}", ids["site"])
        path = path.replace("{release_id}", release.json()["id"])
        assert "{" not in path, f"give {template} an id"
        for params, limit in (
            ({"page": HUGE}, f"{MAX_PAGE}"),
            ({"page_size": HUGE}, f"{MAX_PAGE_SIZE}"),
            ({"page": MAX_PAGE + 1}, f"{MAX_PAGE}"),
        ):
            r = client.get(path, params=params, headers=headers)
            assert r.status_code == 422, (path, params, r.status_code, r.text)
            assert "less than or equal to" in r.text and limit in r.text, (path, r.text)
        r = client.get(path, params={"page": MAX_PAGE, "page_size": MAX_PAGE_SIZE},
                       headers=headers)  # fmt: skip
        assert r.status_code == 200, (path, r.status_code, r.text)
        assert r.json()["items"] == [] and r.json()["page"] == MAX_PAGE


def test_the_portals_paged_pages_clamp_huge_page_numbers(
    client: TestClient, app: FastAPI, world: World
) -> None:
    ids = make_site(client, world, "GWP2")
    pages = paged_pages(app)
    assert "/maintenance/alarms" in pages, pages
    r = client.post(
        "/login",
        data={"email": "admin.i1@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    for template in pages:
        path = template.replace("{device_id}", ids["GWP2-INV"])
        for page in (HUGE, -HUGE, 2**63, MAX_PAGE):
            r = client.get(path, params={"page": page})
            assert r.status_code < 500, (path, page, r.status_code, r.text[:300])
