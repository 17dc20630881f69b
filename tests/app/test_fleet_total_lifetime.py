"""The fleet's total yield is one figure everywhere (issue 19, session 3): ``GET
/api/v1/fleet/kpis`` counts ``yield_wh.total`` as the site list and the home page do (lifetime
counters where every counted inverter of a site reports one, else since it joined; it summed the
yields since joining only), and the home page's tiles show energy and power scaled for people
with the reader's number marks ("409.81 MWh", "409,81 MWh"), not "409809.5"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.app.test_kpis_truth import ingest, reading
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
NBSP = "\N{NO-BREAK SPACE}"


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def _two_sites(client: TestClient, world: World) -> tuple[dict[str, str], dict[str, str], dict]:  # type: ignore[type-arg]
    a, b = make_site(client, world, "GWLA"), make_site(client, world, "GWLB")
    tokens = {gw: token_for(client, world, ids[gw]) for gw, ids in (("GWLA", a), ("GWLB", b))}
    for gw, wh in (("GWLA", 2000.0), ("GWLB", 5000.0)):
        first = reading(f"{gw}-INV", "pv_energy_wh", T0, 1000.0)
        later = {**first, "ts": (T0 + timedelta(hours=1)).isoformat(), "value": 1000.0 + wh}
        ingest(client, tokens[gw], [first, later])
    return a, b, tokens


def _kpis(client: TestClient, world: World) -> dict:  # type: ignore[type-arg]
    r = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I1"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_the_fleet_kpis_total_is_the_lifetime_total_of_the_site_list(
    client: TestClient, world: World
) -> None:
    a, b, tokens = _two_sites(client, world)
    body = _kpis(client, world)
    assert body["yield_wh"]["total"] == pytest.approx(7000.0)
    assert (body["yield_total_source"], body["yield_total_lifetime_sites"]) == ("since_joined", 0)
    green_before = body["green"]

    ingest(client, tokens["GWLA"], [reading("GWLA-INV", "lifetime_yield_wh", T0, 9_000_000.0)])
    body = _kpis(client, world)
    listed = client.get("/api/v1/sites", headers=h(world, "admin@I1")).json()["items"]
    by_list = sum(s["total_yield_wh"] for s in listed if s["id"] in (a["site"], b["site"]))
    assert body["yield_wh"]["total"] == pytest.approx(9_005_000.0) == pytest.approx(by_list)
    assert (body["yield_total_source"], body["yield_total_lifetime_sites"]) == ("mixed", 1)
    assert body["yield_wh"]["day"] <= 7000.0 + 1e-6  # today's yield is still measured (a float sum)
    assert body["green"] == green_before  # green figures stay on the measured yield

    ingest(client, tokens["GWLB"], [reading("GWLB-INV", "lifetime_yield_wh", T0, 400_809_500.0)])
    body = _kpis(client, world)
    assert body["yield_wh"]["total"] == pytest.approx(409_809_500.0)
    assert body["yield_total_source"] == "lifetime_counter"

    schema = client.get("/openapi.json").json()["components"]["schemas"]["FleetKpisOut"]
    assert "lifetime" in schema["properties"]["yield_wh"]["description"]
    assert "yield_total_source" in schema["properties"]


def _tile(html: str, tile: str) -> str:
    """The tile's text as a reader sees it (the unit is in a smaller element of its own)."""
    found = re.search(rf'id="{tile}"[^>]*>(.*?)</span>', html)
    assert found, html
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("&nbsp;", NBSP)


def test_the_home_tiles_are_scaled_for_people_in_english_and_german(
    client: TestClient, world: World
) -> None:
    _a, _b, tokens = _two_sites(client, world)
    ingest(client, tokens["GWLA"], [reading("GWLA-INV", "lifetime_yield_wh", T0, 9_000_000.0)])
    ingest(client, tokens["GWLB"], [reading("GWLB-INV", "lifetime_yield_wh", T0, 400_809_500.0)])
    login(client, world.accounts["admin@I1"].email)

    english = client.get("/home", headers={"Accept-Language": "en"}).text
    assert _tile(english, "kpi-yield-total") == f"409.81{NBSP}MWh"
    assert _tile(english, "kpi-yield-day") == f"7.00{NBSP}kWh"
    assert re.fullmatch(rf"\d+\.\d\d{NBSP}kWh", _tile(english, "kpi-yield-month"))
    assert _tile(english, "kpi-power").endswith(f"{NBSP}kW")
    assert "Total yield" in english and "kWh total yield" not in english

    german = client.get("/home", headers={"Accept-Language": "de"}).text
    assert _tile(german, "kpi-yield-total") == f"409,81{NBSP}MWh"
    assert _tile(german, "kpi-yield-day") == f"7,00{NBSP}kWh"
    assert "Gesamtertrag" in german and "Ertrag heute" in german
    assert "Ertrag in diesem Monat" in german and "PV-Leistung jetzt" in german
    # the green figures are from the measured yield (7 kWh), and the card says so: not "from
    # the total yield" beside a 409.81 MWh total
    assert "From the total yield" not in english
    assert "measured since each site joined" in english
