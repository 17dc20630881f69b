"""Fleet key figures: revenue of PV energy, green efficiency, sums and the yield ranking. Pure.

Revenue is what the PV yield was worth: exported energy at the export price, plus the
self-consumed yield (``pv - export``) at the import price it avoided. A site without tariffs is
valued at one default price for both, so its revenue is simply yield x price. Sums of money are
kept per currency: sites in different currencies are never added up (there are no exchange rates
in the platform).

Green efficiency converts the yield with factors the operator sets (``Settings``): standard coal
saved and CO2 avoided per kWh, and the CO2 one tree absorbs in a year for "equivalent trees".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class GreenFactors:
    coal_kg_per_kwh: float
    co2_kg_per_kwh: float
    co2_kg_per_tree: float


@dataclass(frozen=True)
class Green:
    coal_kg: float
    co2_kg: float
    trees: float


def green(yield_wh: float, factors: GreenFactors) -> Green:
    """Coal saved, CO2 avoided (kg) and equivalent trees for a PV yield."""
    kwh = max(0.0, yield_wh) / 1000.0
    co2 = kwh * factors.co2_kg_per_kwh
    trees = co2 / factors.co2_kg_per_tree if factors.co2_kg_per_tree > 0 else 0.0
    return Green(kwh * factors.coal_kg_per_kwh, co2, trees)


def revenue(
    pv_wh: float, export_wh: float, export_price_per_kwh: float, import_price_per_kwh: float
) -> float:
    """The value of one period's yield (major currency units): export at the export price,
    self-consumption at the import price. Export beyond the yield (a battery discharging into
    the grid) is not PV revenue and is capped at the yield."""
    pv = max(0.0, pv_wh)
    exported = min(max(0.0, export_wh), pv)
    return (exported * export_price_per_kwh + (pv - exported) * import_price_per_kwh) / 1000.0


def priced_revenue(
    pv_wh: Sequence[float],
    export_wh: Sequence[float],
    export_price_per_kwh: Sequence[float],
    import_price_per_kwh: Sequence[float],
) -> float:
    """``revenue`` summed over aligned periods, each at its own prices (e.g. hourly)."""
    return sum(
        revenue(p, e, xp, ip)
        for p, e, xp, ip in zip(
            pv_wh, export_wh, export_price_per_kwh, import_price_per_kwh, strict=True
        )
    )


@dataclass(frozen=True)
class Periods:
    """One figure for today, this month, this year and all time (the site's local calendar)."""

    day: float = 0.0
    month: float = 0.0
    year: float = 0.0
    total: float = 0.0

    def __add__(self, other: Periods) -> Periods:
        return Periods(
            self.day + other.day,
            self.month + other.month,
            self.year + other.year,
            self.total + other.total,
        )


@dataclass(frozen=True)
class SiteFigures:
    site_id: str
    name: str
    currency: str
    capacity_kwp: float
    power_w: float | None  # PV power now; None when nothing recent
    yield_wh: Periods
    revenue: Periods
    priced_by_tariff: bool = False


@dataclass(frozen=True)
class Ranked:
    site_id: str
    name: str
    yield_wh: float
    capacity_kwp: float
    specific_yield_kwh_per_kwp: float | None
    # in the cumulative ranking: from the inverters' lifetime counters, or (False) since joining
    lifetime: bool | None = None


@dataclass(frozen=True)
class FleetKpis:
    sites: int
    capacity_kwp: float
    power_w: float
    sites_reporting_power: int
    yield_wh: Periods
    revenue: dict[str, Periods]  # per currency
    green: Green
    ranking: list[Ranked]  # by this year's yield
    trend: list[tuple[str, float]] = field(default_factory=list)  # (YYYY-MM, Wh)
    # by cumulative yield, the manual's yield ranking (shown first on the home page)
    ranking_cumulative: list[Ranked] = field(default_factory=list)


def fleet(
    sites: Sequence[SiteFigures],
    factors: GreenFactors,
    *,
    trend: Sequence[tuple[str, float]] = (),
    ranking_by: str = "year",
    ranking_size: int = 10,
) -> FleetKpis:
    """The fleet's figures from each site's. The ranking orders sites by their yield of
    ``ranking_by`` (day, month, year or total), highest first, ties by name."""
    capacity = 0.0
    power = 0.0
    reporting = 0
    yields = Periods()
    money: dict[str, Periods] = {}
    for s in sites:
        capacity += s.capacity_kwp
        if s.power_w is not None:
            power += s.power_w
            reporting += 1
        yields = yields + s.yield_wh
        money[s.currency] = money.get(s.currency, Periods()) + s.revenue
    ranked = sorted(sites, key=lambda s: (-getattr(s.yield_wh, ranking_by), s.name, s.site_id))
    ranking = [
        Ranked(
            s.site_id,
            s.name,
            getattr(s.yield_wh, ranking_by),
            s.capacity_kwp,
            getattr(s.yield_wh, ranking_by) / 1000.0 / s.capacity_kwp
            if s.capacity_kwp > 0
            else None,
        )
        for s in ranked[: max(0, ranking_size)]
    ]
    return FleetKpis(
        sites=len(sites),
        capacity_kwp=capacity,
        power_w=power,
        sites_reporting_power=reporting,
        yield_wh=yields,
        revenue=dict(sorted(money.items())),
        green=green(yields.total, factors),
        ranking=ranking,
        trend=list(trend),
    )


# ---- the same figures from columns -------------------------------------------------------------
# ``fleet`` over 10,000 ``SiteFigures`` costs about 100 microseconds a site in objects alone,
# half the home page's budget. ``SiteColumns`` holds the same figures as arrays and ``fleet_of``
# computes the same ``FleetKpis`` with numpy; a property test checks it against ``fleet``.


@dataclass(frozen=True)
class SiteColumns:
    """Per-site figures, one array element per site (power NaN when nothing recent)."""

    site_id: list[str]
    name: list[str]
    currency: list[str]
    capacity_kwp: npt.NDArray[np.float64]
    power_w: npt.NDArray[np.float64]
    yield_wh: dict[str, npt.NDArray[np.float64]]  # "day" | "month" | "year" | "total"
    revenue: dict[str, npt.NDArray[np.float64]]
    priced_by_tariff: npt.NDArray[np.bool_]

    def figures(self) -> list[SiteFigures]:
        """The rows as ``SiteFigures`` (for a download of every site)."""
        y, r = self.yield_wh, self.revenue
        return [
            SiteFigures(
                site_id=self.site_id[i],
                name=self.name[i],
                currency=self.currency[i],
                capacity_kwp=float(self.capacity_kwp[i]),
                power_w=None if np.isnan(self.power_w[i]) else float(self.power_w[i]),
                yield_wh=Periods(*(float(y[p][i]) for p in PERIODS)),
                revenue=Periods(*(float(r[p][i]) for p in PERIODS)),
                priced_by_tariff=bool(self.priced_by_tariff[i]),
            )
            for i in range(len(self.site_id))
        ]


PERIODS = ("day", "month", "year", "total")


def columns_of(sites: Sequence[SiteFigures]) -> SiteColumns:
    def col(values: Sequence[float]) -> npt.NDArray[np.float64]:
        return np.asarray(values, dtype=np.float64)

    return SiteColumns(
        [s.site_id for s in sites],
        [s.name for s in sites],
        [s.currency for s in sites],
        col([s.capacity_kwp for s in sites]),
        col([np.nan if s.power_w is None else s.power_w for s in sites]),
        {p: col([getattr(s.yield_wh, p) for s in sites]) for p in PERIODS},
        {p: col([getattr(s.revenue, p) for s in sites]) for p in PERIODS},
        np.asarray([s.priced_by_tariff for s in sites], dtype=np.bool_),
    )


def revenue_at(
    pv_wh: npt.NDArray[np.float64], export_wh: npt.NDArray[np.float64], price: float
) -> npt.NDArray[np.float64]:
    """``revenue`` of many periods at one price for export and import alike."""
    pv = np.maximum(pv_wh, 0.0)
    exported = np.minimum(np.maximum(export_wh, 0.0), pv)
    return (exported * price + (pv - exported) * price) / 1000.0


def fleet_of(
    c: SiteColumns,
    factors: GreenFactors,
    *,
    trend: Sequence[tuple[str, float]] = (),
    ranking_by: str = "year",
    ranking_size: int = 10,
) -> FleetKpis:
    """``fleet`` on columns: the same figures, the same ranking order."""
    n = len(c.site_id)
    reporting = ~np.isnan(c.power_w)
    yields = Periods(*(float(c.yield_wh[p].sum()) for p in PERIODS))
    money: dict[str, Periods] = {}
    currencies = np.asarray(c.currency, dtype=object)
    for currency in sorted(set(c.currency)):
        mask = currencies == currency
        money[currency] = Periods(*(float(c.revenue[p][mask].sum()) for p in PERIODS))
    key = c.yield_wh[ranking_by]
    size = max(0, min(ranking_size, n))
    ranking: list[Ranked] = []
    if size:
        # the candidates: every site whose yield reaches the size-th highest (ties included)
        cut = np.partition(-key, size - 1)[size - 1]
        candidates = np.flatnonzero(-key <= cut)
        order = sorted(candidates, key=lambda i: (-key[i], c.name[i], c.site_id[i]))[:size]
        for i in order:
            cap = float(c.capacity_kwp[i])
            value = float(key[i])
            ranking.append(
                Ranked(
                    c.site_id[i], c.name[i], value, cap, value / 1000.0 / cap if cap > 0 else None
                )
            )
    return FleetKpis(
        sites=n,
        capacity_kwp=float(c.capacity_kwp.sum()),
        power_w=float(c.power_w[reporting].sum()),
        sites_reporting_power=int(reporting.sum()),
        yield_wh=yields,
        revenue=money,
        green=green(yields.total, factors),
        ranking=ranking,
        trend=list(trend),
    )


# ---- the same figures from groups of sites ------------------------------------------------------
# The home page needs sums, not sites: the database adds up the sites that share a currency, a
# time zone and the periods of their summaries (``Group``), and returns a few rows however large
# the fleet; the ranking is its own query (the top few by yield). ``fleet_of_groups`` gives the
# same ``FleetKpis`` as ``fleet_of`` over the sites (a property test checks it).


@dataclass(frozen=True)
class Group:
    """Sums over sites of one currency. ``yield_wh`` is already for the sites' own current
    periods; ``pv_positive_wh`` is the sum of ``max(pv, 0)`` per site: at one default price for
    export and self-consumption alike a site's revenue is that times the price, so the group's
    is too. Groups priced by tariffs carry their revenue instead (``revenue_by_tariff``)."""

    currency: str
    sites: int
    capacity_kwp: float
    power_w: float  # of the sites reporting power now
    reporting: int
    yield_wh: Periods
    pv_positive_wh: Periods = Periods()
    revenue_by_tariff: Periods | None = None  # the group's revenue, when tariffs price it


def group_revenue(g: Group, price_per_kwh: float) -> Periods:
    """A group's revenue: from its tariffs, or its yield at one default price (``revenue`` with
    the same price for export and import)."""
    if g.revenue_by_tariff is not None:
        return g.revenue_by_tariff
    return Periods(*(getattr(g.pv_positive_wh, p) * price_per_kwh / 1000.0 for p in PERIODS))


def fleet_of_groups(
    groups: Sequence[Group],
    factors: GreenFactors,
    price_per_kwh: float,
    *,
    ranking: Sequence[Ranked] = (),
    trend: Sequence[tuple[str, float]] = (),
    ranking_cumulative: Sequence[Ranked] = (),
    total_wh: float | None = None,
) -> FleetKpis:
    """``fleet`` from sums over groups of sites, with the ranking found elsewhere.
    ``total_wh``: the fleet's total yield counted elsewhere (the sites' lifetime counters where
    they have them, as the site list counts it); without it, the groups' yields since joining.
    The green figures stay on the yield measured since joining (as the revenue does)."""
    yields = Periods()
    money: dict[str, Periods] = {}
    for g in groups:
        yields = yields + g.yield_wh
        money[g.currency] = money.get(g.currency, Periods()) + group_revenue(g, price_per_kwh)
    measured = yields.total
    if total_wh is not None:
        yields = Periods(yields.day, yields.month, yields.year, total_wh)
    return FleetKpis(
        sites=sum(g.sites for g in groups),
        capacity_kwp=sum(g.capacity_kwp for g in groups),
        power_w=sum(g.power_w for g in groups),
        sites_reporting_power=sum(g.reporting for g in groups),
        yield_wh=yields,
        revenue=dict(sorted(money.items())),
        green=green(measured, factors),
        ranking=list(ranking),
        trend=list(trend),
        ranking_cumulative=list(ranking_cumulative),
    )
