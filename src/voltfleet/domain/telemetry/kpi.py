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


@dataclass(frozen=True)
class FleetKpis:
    sites: int
    capacity_kwp: float
    power_w: float
    sites_reporting_power: int
    yield_wh: Periods
    revenue: dict[str, Periods]  # per currency
    green: Green
    ranking: list[Ranked]
    trend: list[tuple[str, float]] = field(default_factory=list)  # (YYYY-MM, Wh)


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
