"""Issue 19, the figures and their truth: "total yield" from the inverter's lifetime counter
(and honestly "since it joined" where there is none) on the site overview, the site list and API
and the inverter's page; the home tiles and the fleet KPIs count alarms by the manual's four
levels; the fleet KPIs' revenue in the user's currency with the ECB rate and day used; a market
tariff read or saved through the API warns when no prices cover the site's tomorrow."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.app.test_alarms import event, home, send
from tests.app.test_money_rates import ECB, _summary
from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, h, iso, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.exchange import rates as fx
from voltfleet.app.runtime import Runtime
from voltfleet.market.ecb import parse_ecb
from voltfleet.store.models import Site, User
from voltfleet.store.money_models import MarketPriceRow
from voltfleet.store.telemetry_models import SiteSummary

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def ingest(client: TestClient, token: str, readings: list[dict[str, object]]) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def reading(device: str, point: str, ts: datetime, value: float) -> dict[str, object]:
    return {"device": device, "point": point, "ts": iso(ts), "value": value, "unit": "Wh"}


def listed(client: TestClient, world: World, site_id: str) -> dict:  # type: ignore[type-arg]
    r = client.get("/api/v1/sites", params={"q": "Home"}, headers=h(world, "admin@I1"))
    assert r.status_code == 200, r.text
    return next(s for s in r.json()["items"] if s["id"] == site_id)  # type: ignore[no-any-return]


def test_total_yield_is_the_lifetime_counter_else_since_the_site_joined(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWY1")
    token = token_for(client, world, ids["GWY1"])
    t0 = NOW - timedelta(hours=2)
    ingest(
        client,
        token,
        [
            reading("GWY1-INV", "pv_energy_wh", t0, 1000.0),
            reading("GWY1-INV", "pv_energy_wh", t0 + timedelta(hours=1), 3000.0),
        ],
    )
    # No lifetime counter: the yield since the site joined, and the day it joined.
    site = listed(client, world, ids["site"])
    joined = datetime.fromisoformat(site["created_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert site["total_yield_wh"] == pytest.approx(2000.0)
    assert site["total_yield_source"] == "since_joined"
    assert site["total_yield_since"] == joined.date().isoformat()
    login(client, world.accounts["admin@I1"].email)
    page = client.get(f"/site/{ids['site']}").text
    total = re.search(r'id="site-total-yield">(.*?)</dd>', page, re.S)
    assert total and 'data-source="since_joined"' in total.group(1), page
    assert "since it joined on" in total.group(1)
    inverter = client.get(f"/device/{ids['GWY1-INV']}").text
    assert re.search(r'id="device-total-yield">.*data-source="since_joined"', inverter)
    meter = client.get(f"/device/{ids['GWY1-MTR']}").text
    assert 'id="device-total-yield"' not in meter  # only inverters have a yield

    # The inverter reports its lifetime register: that is the total, on every page.
    body = ingest(
        client,
        token,
        [
            reading("GWY1-INV", "lifetime_yield_wh", t0 + timedelta(hours=1), 7_480_000.0),
            reading("GWY1-INV", "lifetime_yield_wh", t0 + timedelta(hours=2), 7_482_500.0),
        ],
    )
    assert body["accepted"] == 2
    site = listed(client, world, ids["site"])
    assert site["total_yield_wh"] == pytest.approx(7_482_500.0)
    assert site["total_yield_source"] == "lifetime_counter"
    assert site["total_yield_since"] is None
    page = client.get(f"/site/{ids['site']}").text
    total = re.search(r'id="site-total-yield">(.*?)</dd>', page, re.S)
    assert total and 'data-source="lifetime_counter"' in total.group(1)
    assert "7.48\u00a0MWh" in total.group(1) and "since it joined" not in total.group(1)
    inverter = client.get(f"/device/{ids['GWY1-INV']}").text
    assert re.search(r'id="device-total-yield">.*data-source="lifetime_counter"', inverter)

    # An older reading (a late copy) and a counter that went backwards change nothing.
    body = ingest(
        client,
        token,
        [
            reading("GWY1-INV", "lifetime_yield_wh", t0, 7_479_000.0),
            reading("GWY1-INV", "lifetime_yield_wh", t0 + timedelta(hours=3), 10.0),
        ],
    )
    assert body["quarantined"] >= 1
    assert listed(client, world, ids["site"])["total_yield_wh"] == pytest.approx(7_482_500.0)

    # The site list's "Total yield" column (chosen in the column chooser).
    csrf = client.get("/site").text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        "/site/columns",
        data={"csrf": csrf, "columns": ["status", "total_yield"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = re.search(rf'<tr data-id="{ids["site"]}">(.*?)</tr>', client.get("/site").text, re.S)
    assert row and re.search(r'data-col="total_yield".*7\.48\xa0MWh', row.group(1)), row


def test_a_site_with_an_inverter_without_lifetime_counter_says_since_it_joined(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    """Two inverters, one with a lifetime counter: the site's figure is not a sum of both kinds."""
    ids = make_site(client, world, "GWY2")
    r = client.post(
        f"/api/v1/sites/{ids['site']}/devices",
        json={"kind": "inverter", "serial": "GWY2-INV2", "parent_serial": "GWY2"},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    token = token_for(client, world, ids["GWY2"])
    t0 = NOW - timedelta(hours=2)
    ingest(
        client,
        token,
        [
            reading("GWY2-INV", "pv_energy_wh", t0, 0.0),
            reading("GWY2-INV", "pv_energy_wh", t0 + timedelta(hours=1), 500.0),
            reading("GWY2-INV", "lifetime_yield_wh", t0 + timedelta(hours=1), 9_000_000.0),
            reading("GWY2-INV2", "pv_energy_wh", t0, 0.0),
            reading("GWY2-INV2", "pv_energy_wh", t0 + timedelta(hours=1), 700.0),
        ],
    )
    site = listed(client, world, ids["site"])
    assert site["total_yield_source"] == "since_joined"
    assert site["total_yield_wh"] == pytest.approx(1200.0)


def test_home_tiles_and_fleet_kpis_count_alarms_by_the_four_levels(
    client: TestClient, world: World
) -> None:
    _ids, token = home(client, world, "GWL1")
    t0 = NOW - timedelta(minutes=40)
    send(
        client,
        token,
        [
            event("GWL1-BAT", "BAT_COMM_LOST", "raise", t0),  # major: urgent
            event("GWL1-INV", "INV_GRID_OVERVOLTAGE", "raise", t0),  # minor: important
            event("GWL1-INV", "INV_FAN_FAULT", "raise", t0),  # warning: common
            event("GWL1-BAT", "BAT_CALIBRATING", "raise", t0),  # warning, but prompt
            event("GWL1-INV", "INV_EXPORT_LIMITED", "raise", t0),  # warning, but prompt
            event("GWL1-MTR", "MTR_CT_REVERSED", "raise", t0),
            event("GWL1-MTR", "MTR_CT_REVERSED", "clear", t0 + timedelta(minutes=5)),
        ],
    )
    body = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I1")).json()
    assert body["alarm_levels"] == {
        "urgent": 1,
        "important": 1,
        "common": 1,
        "prompt": 2,
        "total": 5,
    }
    assert body["alarms"] == {"major": 1, "minor": 1, "warning": 3, "total": 5}  # kept
    other = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I2")).json()
    assert other["alarm_levels"]["total"] == 0

    login(client, world.accounts["om@I1"].email)
    page = client.get("/home").text
    tiles = re.search(r'<div class="tiles" id="active-alarms">(.*?)</div>', page, re.S)
    assert tiles, page
    found = dict(re.findall(r'id="alarms-(\w+)">(\d+)<', tiles.group(1)))
    assert found == {"urgent": "1", "important": "1", "common": "1", "prompt": "2"}
    assert 'href="/maintenance/alarms?status=active&amp;level=prompt"' in tiles.group(1)
    listed_prompt = client.get("/maintenance/alarms", params={"level": "prompt"}).text
    assert listed_prompt.count('data-status="active"') == 2


def test_fleet_kpis_revenue_in_the_users_currency_with_the_rate_used(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    with runtime.db.session() as s:
        fx.store(s, parse_ecb(ECB.read_bytes()))
        org = w.org_id("I1")
        ids = [str(uuid.uuid4()) for _ in range(3)]
        s.execute(
            insert(Site),
            [
                {"id": ids[0], "org_id": org, "name": "Euro home", "currency": "EUR",
                 "timezone": "Europe/Berlin"},
                {"id": ids[1], "org_id": org, "name": "Pound home", "currency": "GBP",
                 "timezone": "Europe/London"},
                {"id": ids[2], "org_id": org, "name": "Gold home", "currency": "XAU",
                 "timezone": "Europe/Berlin"},
            ],
        )  # fmt: skip
        s.execute(
            insert(SiteSummary),
            [_summary(ids[0], 10_000.0), _summary(ids[1], 20_000.0), _summary(ids[2], 1000.0)],
        )
        user = s.get(User, w.accounts["admin@I1"].id)
        assert user is not None
        user.currency = "USD"
    price = Decimal(repr(runtime.settings.default_price_per_kwh))
    body = client.get("/api/v1/fleet/kpis", headers=h(w, "admin@I1")).json()
    want = Decimal(10) * price * Decimal("1.0826") + Decimal(20) * price * Decimal(
        "1.0826"
    ) / Decimal("0.83280")
    got = body["revenue_converted"]
    assert got["currency"] == "USD"
    assert Decimal(got["total"]) == want.quantize(Decimal("0.01"))
    assert Decimal(got["day"]) == 0
    assert {(r["source"], r["target"], r["rate"], r["rate_date"]) for r in got["rates"]} == {
        ("EUR", "USD", "1.0826", "2022-04-13"),
        ("GBP", "USD", "1.29995", "2022-04-13"),
    }
    assert [u["currency"] for u in got["unconverted"]] == ["XAU"]  # no rate: never guessed
    assert got["unconverted"][0]["total"] == pytest.approx(float(price))
    # The per-currency figures stay as they were.
    assert body["revenue"][0]["currency"] == "USD"


def _market(day: date) -> dict[str, object]:
    return {
        "valid_from": day.isoformat(),
        "kind": "market",
        "currency": "EUR",
        "source": "awattar",
        "area": "DE",
    }


def test_a_market_tariff_through_the_api_warns_when_no_prices_cover_tomorrow(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWP1")
    site = ids["site"]
    now = runtime.clock.now()
    tomorrow = now.astimezone(ZoneInfo("Europe/Berlin")).date() + timedelta(days=1)
    url = f"/api/v1/sites/{site}/tariffs/IMPORT"
    r = client.put(url, json=_market(date(2026, 1, 1)), headers=h(world, "admin@I1"))
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert [(w["code"], w["day"]) for w in warnings] == [("no_prices_tomorrow", str(tomorrow))]
    assert "awattar" in warnings[0]["message"] and "DE" in warnings[0]["message"]
    listed_versions = client.get(f"/api/v1/sites/{site}/tariffs", headers=h(world, "admin@I1"))
    assert listed_versions.json()[0]["warnings"][0]["code"] == "no_prices_tomorrow"
    # A fixed tariff never warns.
    fixed = {"valid_from": "2026-01-01", "kind": "fixed", "currency": "EUR", "price_per_kwh": 0.3}
    r = client.put(f"/api/v1/sites/{site}/tariffs/EXPORT", json=fixed, headers=h(world, "admin@I1"))
    assert r.status_code == 200 and r.json()["warnings"] == []

    # Prices covering tomorrow: no warning, on read or save.
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    with runtime.db.session() as s:
        s.execute(
            insert(MarketPriceRow),
            [
                {"id": str(uuid.uuid4()), "source": "awattar", "area": "DE",
                 "start": start + timedelta(hours=k), "end": start + timedelta(hours=k + 1),
                 "price_per_kwh": 0.1, "currency": "EUR"}
                for k in range(-2, 60)
            ],
        )  # fmt: skip
    r = client.get(f"/api/v1/sites/{site}/tariffs", headers=h(world, "admin@I1"))
    assert all(v["warnings"] == [] for v in r.json())
    r = client.put(url, json=_market(date(2026, 1, 2)), headers=h(world, "admin@I1"))
    assert r.status_code == 200 and r.json()["warnings"] == []
