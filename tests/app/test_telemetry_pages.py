"""The portal's telemetry pages under a signed-in session: another tenant's device or site is
"not found" on every page and download, and bad choices in the address (a day out of range, an
unknown zoom, period or data point, a reversed or too long range) are answered 400 with the
reason on the page, never a 500."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, make_site, token_for
from tests.app.test_telemetry_read import DAY, counters
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def site(client: TestClient, world: World) -> dict[str, str]:
    ids = make_site(client, world, "GWP1")
    token = token_for(client, world, ids["GWP1"])
    r = client.post(
        "/api/v1/ingest", json={"readings": counters("GWP1-INV", "GWP1-MTR")}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["quarantined"] == 0, r.text
    return ids


def page_error(html: str) -> str:
    found = re.search(r'<p class="error" id="[a-z-]*error">([^<]*)<', html)
    return found.group(1).replace("&#39;", "'") if found else ""


def urls(site: dict[str, str]) -> list[str]:
    inv, sid = site["GWP1-INV"], site["site"]
    return [
        f"/site/{sid}/chart",
        f"/device/{inv}/chart",
        f"/device/{inv}/chart.csv",
        f"/device/{inv}/data",
        f"/device/{inv}/data.csv",
        f"/device/{inv}/energy",
        f"/device/{inv}/energy.csv",
        f"/site/{sid}/energy",
        f"/site/{sid}/energy.csv",
    ]


def test_the_pages_open_for_the_site_and_not_for_other_tenants(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    login(client, "om.i1@example.com")
    for url in urls(site):
        r = client.get(url, params={"day": DAY.isoformat()}, follow_redirects=False)
        assert r.status_code in (200, 303), (url, r.status_code, r.text[:300])
    for email in ("admin.i2@example.com", "om.i2@example.com", "owner.i2@example.com"):
        login(client, email)
        for url in urls(site):
            r = client.get(url, headers={"accept": "text/html"}, follow_redirects=False)
            assert r.status_code == 404, (email, url, r.status_code)
            assert site["GWP1-INV"] not in r.text and "GWP1" not in r.text


def test_a_sites_chart_opens_its_inverter(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    login(client, "om.i1@example.com")
    r = client.get(f"/site/{site['site']}/chart", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/device/{site['GWP1-INV']}/chart"


@pytest.mark.parametrize(
    ("page", "query", "message"),
    [
        ("chart", "day=9999-12-31", "9999-12-31 is out of range"),
        ("chart", "day=0001-01-01", "0001-01-01 is out of range"),
        ("chart", "day=yesterday", "'yesterday' is not a date: use YYYY-MM-DD"),
        ("chart", "span=year", "zoom 'year' is not one of day, week, month"),
        ("chart", "points=pv_power_w,nope", "unknown data point 'nope'"),
        ("chart", "points=device_status", "'device_status' is a status code"),
        ("data", "start=0001-01-01", "0001-01-01 is out of range"),
        ("data", "start=2026-03-05&end=2026-03-01", "the last day (2026-03-01) is before"),
        ("data", "start=2026-01-01&end=2026-03-01", "at most 31 days long for raw readings"),
        ("data", "point=nope", "unknown data point 'nope'"),
        ("energy", "period=week", "period 'week' is not one of day, month, year, total"),
        ("energy", "day=9999-12-31&period=year", "9999-12-31 is out of range"),
        ("site-energy", "period=week", "period 'week' is not one of day, month, year, total"),
        ("site-energy", "day=9999-12-31&period=year", "9999-12-31 is out of range"),
        ("site-energy", "day=0001-01-01", "0001-01-01 is out of range"),
    ],
)
def test_bad_choices_are_explained_on_the_page(
    client: TestClient,
    world: World,
    site: dict[str, str],
    page: str,
    query: str,
    message: str,
) -> None:
    login(client, "om.i1@example.com")
    base = (
        f"/site/{site['site']}/energy"
        if page == "site-energy"
        else f"/device/{site['GWP1-INV']}/{page}"
    )
    r = client.get(f"{base}?{query}")
    assert r.status_code == 400, r.text[:300]
    assert message in page_error(r.text), page_error(r.text)
    download = client.get(f"{base}.csv?{query}")
    assert download.status_code == 400
    assert message in download.json()["detail"]
