"""The home page's figures, summed in the database per group of sites (fleet_service), equal the
same figures computed site by site (site_figures, the CSV download), on both databases: sites
in two zones and currencies, summaries of today and of earlier periods, negative yields and
export beyond the yield, fresh, stale and missing power, a site with tariffs, and sites whose
summary is missing (built on the way)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.support.world import build_world
from voltfleet.app.deps import Caller
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry import fleet_service, site_figures
from voltfleet.app.telemetry.fleet_revenue import calendar
from voltfleet.domain.tariffs import to_us
from voltfleet.domain.telemetry import kpi
from voltfleet.store.models import Org, Site, User
from voltfleet.store.telemetry_models import SiteSummary

NOW = datetime(2026, 7, 15, 10, 3, tzinfo=UTC)
ZONES = ("Europe/Berlin", "America/New_York")


def _summary(rng: random.Random, site_id: str, tz: str) -> dict[str, object]:
    cal = calendar(tz, NOW)
    stale = rng.random() < 0.3  # a site silent since an earlier day, month or year
    day = cal.day - timedelta(days=rng.choice([1, 40, 400])) if stale else cal.day
    month = cal.month if not stale or rng.random() < 0.5 else cal.month - timedelta(days=31)
    year = cal.year if not stale or rng.random() < 0.7 else cal.year - timedelta(days=365)
    fresh = rng.random()
    figures = {
        f"{what}_{p}": rng.choice([-50.0, 0.0, 800.0, 12_000.0, 2.5e6])
        for what in ("pv", "export")
        for p in kpi.PERIODS
    }
    return {
        "site_id": site_id,
        "day_us": to_us(day),
        "month_us": to_us(month),
        "year_us": to_us(year),
        **figures,
        "power_w": None if fresh < 0.2 else rng.choice([0.0, 1500.0, 4200.5]),
        "power_us": to_us(NOW - timedelta(minutes=3 if fresh < 0.7 else 30)),
        **{f"pv_m{k}": rng.choice([0.0, 100.0, 9000.0]) for k in range(12)},
    }


@pytest.fixture
def fleet(runtime: Runtime, client: TestClient) -> Caller:
    world = build_world(runtime)
    rng = random.Random(7)
    with runtime.db.session() as s:
        org_id = world.org_id("I1")
        sites, rows = [], []
        for i in range(60):
            tz = ZONES[i % 2]
            sid = str(uuid.uuid4())
            sites.append(
                {"id": sid, "org_id": org_id, "name": f"home {rng.randrange(20):02d}",
                 "timezone": tz, "currency": "EUR" if i % 3 else "USD",
                 "capacity_kwp": rng.choice([0.0, 4.5, 9.9])}
            )  # fmt: skip
            if i % 10 != 9:  # every tenth site has no summary yet
                rows.append(_summary(rng, sid, tz))
        s.execute(insert(Site), sites)
        s.execute(insert(SiteSummary), rows)
    token = world.accounts["admin@I1"].headers()
    for direction, price in (("EXPORT", 0.08), ("IMPORT", 0.40)):
        r = client.put(
            f"/api/v1/sites/{sites[0]['id']}/tariffs/{direction}",
            json={"valid_from": "2025-01-01", "kind": "fixed", "currency": "USD",
                  "price_per_kwh": price},
            headers=token,
        )  # fmt: skip
        assert r.status_code in (200, 201), r.text
    with runtime.db.session() as s:
        user = s.get(User, world.accounts["admin@I1"].id)
        org = s.get(Org, org_id)
        assert user is not None and org is not None
        s.expunge_all()
    return Caller(user=user, org=org, address="test")


def test_group_sums_equal_the_site_by_site_figures(runtime: Runtime, fleet: Caller) -> None:
    settings = runtime.settings
    with runtime.db.session() as s:
        columns = site_figures.site_columns(s, fleet, settings, NOW)
    with runtime.db.session() as s:
        got = fleet_service.fleet_figures(s, fleet, settings, NOW, ranking_size=7).kpis
    factors = kpi.GreenFactors(
        settings.green_coal_kg_per_kwh,
        settings.green_co2_kg_per_kwh,
        settings.green_co2_kg_per_tree,
    )
    want = kpi.fleet_of(columns, factors, ranking_size=7)
    assert got.sites == want.sites == 60
    assert got.capacity_kwp == pytest.approx(want.capacity_kwp)
    assert got.power_w == pytest.approx(want.power_w)
    assert got.sites_reporting_power == want.sites_reporting_power > 0
    for p in kpi.PERIODS:
        assert getattr(got.yield_wh, p) == pytest.approx(getattr(want.yield_wh, p)), p
    assert set(got.revenue) == set(want.revenue) == {"EUR", "USD"}
    for currency, periods in want.revenue.items():
        for p in kpi.PERIODS:
            assert getattr(got.revenue[currency], p) == pytest.approx(getattr(periods, p))
    assert [(r.site_id, r.yield_wh) for r in got.ranking] == [
        (r.site_id, r.yield_wh) for r in want.ranking
    ]
    assert got.green.co2_kg == pytest.approx(want.green.co2_kg)
    # the site with tariffs is priced by them; today's figures differ from the totals
    assert bool(np.any(columns.priced_by_tariff))
    assert got.yield_wh.day != got.yield_wh.total


def test_the_yield_ranking_is_by_cumulative_yield(runtime: Runtime, fleet: Caller) -> None:
    """The manual ranks sites by their cumulative yield; this year's yield is the second tab."""
    settings = runtime.settings
    with runtime.db.session() as s:
        columns = site_figures.site_columns(s, fleet, settings, NOW)
    with runtime.db.session() as s:
        got = fleet_service.fleet_figures(s, fleet, settings, NOW, ranking_size=7).kpis
    factors = kpi.GreenFactors(
        settings.green_coal_kg_per_kwh,
        settings.green_co2_kg_per_kwh,
        settings.green_co2_kg_per_tree,
    )
    want = kpi.fleet_of(columns, factors, ranking_by="total", ranking_size=7)
    assert [(r.site_id, r.yield_wh) for r in got.ranking_cumulative] == [
        (r.site_id, r.yield_wh) for r in want.ranking
    ]
    assert [r.site_id for r in got.ranking_cumulative] != [r.site_id for r in got.ranking]
