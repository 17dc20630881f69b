"""The home page's "total yield" tile and cumulative yield ranking count a site as the site list
does (issue 19): its inverters' lifetime counters where every counted inverter reports one, else
its yield since it joined; the tile says which (it summed the yields since joining only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.app.test_kpis_truth import ingest, reading
from tests.app.test_site_pages import login
from tests.app.test_telemetry import make_site, token_for
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def _tile(html: str) -> tuple[str, str, str]:
    found = re.search(
        r'id="kpi-yield-total" data-source="([a-z_]+)" data-wh="([\d.]+)">.*?</span>.*?'
        r'id="kpi-yield-total-source">([^<]*)<',
        html,
        re.S,
    )
    assert found, html
    # the tile shows the figure scaled (test_fleet_total_lifetime.py): its Wh in data-wh, in kWh
    return found.group(1), f"{float(found.group(2)) / 1000:.1f}", found.group(3)


def _ranking(html: str) -> list[tuple[str, str, bool]]:
    ranking = re.search(r'<ol id="ranking" data-by="total">(.*?)</ol>', html, re.S)
    assert ranking
    row = (r'<li data-wh="([\d.]+)"><a href="/site/([^/]+)/energy[^"]*">[^<]*</a> · '
           r'<span class="yield">([^<]*)</span>(.*?)</li>')  # fmt: skip
    rows = re.findall(row, ranking.group(1), re.S)
    # each row shows its figure scaled like the tiles (_shown below): its Wh in data-wh, in kWh
    return [(sid, f"{float(wh) / 1000:.1f}", "since-joined" in rest) for wh, sid, _t, rest in rows]


def _shown(html: str) -> list[str]:
    """The yields of the cumulative ranking as a person reads them."""
    ranking = re.search(r'<ol id="ranking" data-by="total">(.*?)</ol>', html, re.S)
    assert ranking
    return re.findall(r'<span class="yield">([^<]*)</span>', ranking.group(1))


def test_the_home_total_yield_uses_lifetime_counters_where_every_inverter_has_one(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    a, b = make_site(client, world, "GWTA"), make_site(client, world, "GWTB")
    tokens = {gw: token_for(client, world, ids[gw]) for gw, ids in (("GWTA", a), ("GWTB", b))}
    for gw, wh in (("GWTA", 2000.0), ("GWTB", 5000.0)):
        first = reading(f"{gw}-INV", "pv_energy_wh", T0, 1000.0)
        ingest(client, tokens[gw], [first, {**first, "ts": (T0 + timedelta(hours=1)).isoformat(),
                                            "value": 1000.0 + wh}])  # fmt: skip
    login(client, world.accounts["admin@I1"].email)
    client.headers["Accept-Language"] = "de"
    source, kwh, words = _tile(client.get("/home").text)
    assert (source, kwh, words) == ("since_joined", "7.0", "seit dem Beitritt der Anlagen")

    # A's inverter reports its lifetime counter: A counts by it, B since it joined.
    ingest(client, tokens["GWTA"], [reading("GWTA-INV", "lifetime_yield_wh", T0, 9_000_000.0)])
    page = client.get("/home").text
    source, kwh, words = _tile(page)
    assert (source, kwh) == ("mixed", "9005.0")
    assert words == "Gesamtzähler bei 1 von 2 Anlagen, die übrigen seit dem Beitritt"
    assert _ranking(page) == [(a["site"], "9000.0", False), (b["site"], "5.0", True)]
    # scaled for people with the reader's (German) marks, not "9000.0 kWh"
    assert _shown(page) == ["9,00\u00a0MWh", "5,00\u00a0kWh"]

    # Both report one: the tile is the counters' sum, and says so.
    ingest(client, tokens["GWTB"], [reading("GWTB-INV", "lifetime_yield_wh", T0, 12_000_000.0)])
    page = client.get("/home").text
    assert _tile(page) == (
        "lifetime_counter",
        "21000.0",
        "aus den Gesamtzählern der Wechselrichter",
    )
    assert _ranking(page) == [(b["site"], "12000.0", False), (a["site"], "9000.0", False)]

    # A second inverter on B without a counter: B goes back to its yield since it joined.
    r = client.post(
        f"/api/v1/sites/{b['site']}/devices",
        json={"kind": "inverter", "serial": "GWTB-INV2", "parent_serial": "GWTB"},
        headers=world.accounts["admin@I1"].headers(),
    )
    assert r.status_code == 201, r.text
    source, kwh, _words = _tile(client.get("/home").text)
    assert (source, kwh) == ("mixed", "9005.0")
