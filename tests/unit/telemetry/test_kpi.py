"""Fleet key figures (domain.telemetry.kpi)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltfleet.domain.telemetry import kpi

FACTORS = kpi.GreenFactors(coal_kg_per_kwh=0.4, co2_kg_per_kwh=1.0, co2_kg_per_tree=20.0)


@pytest.mark.parametrize(
    ("pv", "export", "xp", "ip", "want"),
    [
        (10_000, 4000, 0.08, 0.40, 4 * 0.08 + 6 * 0.40),
        (10_000, 0, 0.08, 0.40, 4.0),
        (10_000, 12_000, 0.10, 0.40, 1.0),  # export beyond the yield is not PV revenue
        (0, 500, 0.10, 0.40, 0.0),
        (5000, 2000, 0.30, 0.30, 1.5),  # one default price: yield x price
    ],
)
def test_revenue(pv: float, export: float, xp: float, ip: float, want: float) -> None:
    assert kpi.revenue(pv, export, xp, ip) == pytest.approx(want)


def test_priced_revenue_hour_by_hour() -> None:
    got = kpi.priced_revenue([1000, 2000], [0, 2000], [0.1, 0.05], [0.3, 0.5])
    assert got == pytest.approx(0.3 + 0.1)
    with pytest.raises(ValueError):
        kpi.priced_revenue([1000], [0, 1], [0.1], [0.3])


def test_green() -> None:
    g = kpi.green(2_000_000, FACTORS)
    assert (g.coal_kg, g.co2_kg, g.trees) == pytest.approx((800, 2000, 100))
    assert kpi.green(-5, FACTORS).co2_kg == 0


def site(name: str, cur: str, y: float, power: float | None = None) -> kpi.SiteFigures:
    return kpi.SiteFigures(
        site_id=name, name=name, currency=cur, capacity_kwp=5.0, power_w=power,
        yield_wh=kpi.Periods(y / 100, y / 10, y, y * 3),
        revenue=kpi.Periods(1, 2, 3, 4),
    )  # fmt: skip


def test_fleet_sums_per_currency_and_ranks_by_year() -> None:
    sites = [
        site("b", "EUR", 5000, 1200),
        site("a", "EUR", 5000),
        site("c", "GBP", 9000, 300),
        site("d", "EUR", 0),
    ]
    f = kpi.fleet(sites, FACTORS, trend=[("2026-01", 1.0)], ranking_size=3)
    assert f.sites == 4 and f.capacity_kwp == 20
    assert f.power_w == 1500 and f.sites_reporting_power == 2
    assert f.yield_wh.year == 19_000 and f.yield_wh.total == 57_000
    assert f.revenue == {"EUR": kpi.Periods(3, 6, 9, 12), "GBP": kpi.Periods(1, 2, 3, 4)}
    assert [r.name for r in f.ranking] == ["c", "a", "b"]  # ties by name
    assert f.ranking[0].specific_yield_kwh_per_kwp == pytest.approx(1.8)
    assert f.green.co2_kg == pytest.approx(57.0)
    assert f.trend == [("2026-01", 1.0)]


def test_empty_fleet() -> None:
    f = kpi.fleet([], FACTORS)
    assert f.sites == 0 and f.revenue == {} and f.ranking == [] and f.green.trees == 0


site_figures = st.builds(
    kpi.SiteFigures,
    site_id=st.uuids().map(str),
    name=st.sampled_from(["A", "B", "C", "home"]),
    currency=st.sampled_from(["EUR", "GBP"]),
    capacity_kwp=st.sampled_from([0.0, 4.5, 10.0]),
    power_w=st.one_of(st.none(), st.floats(0, 9000)),
    yield_wh=st.builds(kpi.Periods, *[st.sampled_from([0.0, 100.0, 2500.0, 7e6])] * 4),
    revenue=st.builds(kpi.Periods, *[st.floats(0, 1e4)] * 4),
    priced_by_tariff=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(sites=st.lists(site_figures, max_size=30), size=st.integers(0, 12))
def test_fleet_of_columns_equals_fleet_of_sites(sites: list[kpi.SiteFigures], size: int) -> None:
    factors = kpi.GreenFactors(0.4, 0.997, 18.3)
    want = kpi.fleet(sites, factors, ranking_size=size, trend=[("2026-11", 1.0)])
    columns = kpi.columns_of(sites)
    got = kpi.fleet_of(columns, factors, ranking_size=size, trend=[("2026-11", 1.0)])
    assert got.ranking == want.ranking  # the same sites in the same order, ties by name, id
    assert (got.sites, got.sites_reporting_power, got.trend) == (
        want.sites,
        want.sites_reporting_power,
        want.trend,
    )
    assert got.capacity_kwp == pytest.approx(want.capacity_kwp)
    assert got.power_w == pytest.approx(want.power_w)
    assert got.revenue.keys() == want.revenue.keys()
    for currency, periods in want.revenue.items():
        assert got.revenue[currency].total == pytest.approx(periods.total)
        assert got.revenue[currency].day == pytest.approx(periods.day)
    assert got.yield_wh.year == pytest.approx(want.yield_wh.year)
    assert got.green.co2_kg == pytest.approx(want.green.co2_kg)
    assert columns.figures() == list(sites)


@settings(max_examples=100, deadline=None)
@given(
    pv=st.lists(st.floats(-100, 1e6), min_size=1, max_size=20),
    ex=st.floats(-100, 2e6),
    price=st.floats(0, 2),
)
def test_revenue_at_equals_revenue(pv: list[float], ex: float, price: float) -> None:
    got = kpi.revenue_at(np.asarray(pv), np.full(len(pv), ex), price)
    assert got.tolist() == pytest.approx([kpi.revenue(p, ex, price, price) for p in pv])


@settings(max_examples=150, deadline=None)
@given(
    sites=st.lists(
        st.tuples(
            st.sampled_from(["EUR", "GBP"]),
            st.booleans(),  # priced by tariffs
            st.lists(st.sampled_from([-40.0, 0.0, 250.0, 7e6]), min_size=4, max_size=4),
            st.lists(st.sampled_from([-40.0, 0.0, 100.0, 9e6]), min_size=4, max_size=4),
            st.one_of(st.none(), st.floats(0, 9000)),
        ),
        max_size=25,
    ),
    price=st.sampled_from([0.0, 0.3, 1.25]),
)
def test_fleet_of_groups_equals_fleet_of_sites(
    sites: list[tuple[str, bool, list[float], list[float], float | None]], price: float
) -> None:
    """Sites summed into groups (per currency and pricing, as the database does) give the
    figures of the sites themselves, revenue at the default price included."""
    factors = kpi.GreenFactors(0.4, 0.997, 18.3)
    figures = []
    groups: dict[tuple[str, bool], list[kpi.SiteFigures]] = {}
    tariff_money = kpi.Periods(1.0, 2.0, 3.0, 4.0)
    for k, (currency, priced, pv, ex, power) in enumerate(sites):
        y = kpi.Periods(*pv)
        money = (
            tariff_money
            if priced
            else kpi.Periods(
                *(kpi.revenue(a, b, price, price) for a, b in zip(pv, ex, strict=True))
            )
        )
        f = kpi.SiteFigures(str(k), str(k), currency, 5.0, power, y, money, priced)
        figures.append(f)
        groups.setdefault((currency, priced), []).append(f)
    want = kpi.fleet(figures, factors, ranking_size=0)
    summed = []
    for (currency, priced), members in groups.items():
        total, positive = kpi.Periods(), kpi.Periods()
        for m in members:
            total = total + m.yield_wh
            positive = positive + kpi.Periods(
                *(max(getattr(m.yield_wh, p), 0.0) for p in kpi.PERIODS)
            )
        summed.append(
            kpi.Group(
                currency,
                sites=len(members),
                capacity_kwp=sum(m.capacity_kwp for m in members),
                power_w=sum(m.power_w or 0.0 for m in members),
                reporting=sum(m.power_w is not None for m in members),
                yield_wh=total,
                pv_positive_wh=positive,
                revenue_by_tariff=kpi.Periods() if priced else None,
            )
        )
        if priced:  # as fleet_service does: each priced site's revenue, as a group of none
            summed += [
                kpi.Group(currency, 0, 0.0, 0.0, 0, kpi.Periods(), revenue_by_tariff=tariff_money)
                for _ in members
            ]
    got = kpi.fleet_of_groups(summed, factors, price)
    assert (got.sites, got.sites_reporting_power) == (want.sites, want.sites_reporting_power)
    assert got.capacity_kwp == pytest.approx(want.capacity_kwp)
    assert got.power_w == pytest.approx(want.power_w)
    assert got.yield_wh.total == pytest.approx(want.yield_wh.total)
    assert got.revenue.keys() == want.revenue.keys()
    for currency, periods in want.revenue.items():
        for p in kpi.PERIODS:
            assert getattr(got.revenue[currency], p) == pytest.approx(getattr(periods, p))
