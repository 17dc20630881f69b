"""The home page's money figures on 5,000 sites in four currencies (SQLite): the fleet figures as
before (the baseline: sums per group, this year's ranking), the second ranking by cumulative yield
the manual asks for (by the inverters' lifetime counters where every inverter of a site reports
one: two inverters a site, counters on half the sites), the home tile's total yield, and the
revenue converted into the user's currency with the ECB's rates (one query for the day's rates,
Decimal arithmetic). Median of 15 runs each.

    .venv/bin/python benchmarks/bench_home_revenue.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.world import build_world

from voltfleet.app.deps import Caller
from voltfleet.app.exchange import rates as fx
from voltfleet.app.exchange.revenue import revenue_in
from voltfleet.app.telemetry import fleet_service
from voltfleet.app.telemetry.fleet_revenue import calendar
from voltfleet.bootstrap import build_runtime
from voltfleet.domain.exchange_rates import ReferenceRates
from voltfleet.domain.tariffs import to_us
from voltfleet.settings import Settings
from voltfleet.store.fleet_models import Device
from voltfleet.store.migrate import upgrade
from voltfleet.store.models import Org, Site, User
from voltfleet.store.telemetry_models import SiteSummary
from voltfleet.store.yield_models import LifetimeYield

SITES = 5_000
RUNS = 15
NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
CURRENCIES = ("EUR", "GBP", "CHF", "SEK")


def timed(fn: Callable[[], object]) -> float:
    samples = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", data_dir=tmp, mode="dev")
        runtime = build_runtime(settings)
        upgrade(runtime.db.url)  # every migration, this branch's 0024 included
        world = build_world(runtime)
        rng = random.Random(3)
        cal = calendar("Europe/Berlin", NOW)
        with runtime.db.session() as s:
            org = world.org_id("I1")
            sites, rows = [], []
            for i in range(SITES):
                sid = str(uuid.uuid4())
                sites.append({"id": sid, "org_id": org, "name": f"home {i:05d}",
                              "timezone": "Europe/Berlin", "currency": CURRENCIES[i % 4],
                              "capacity_kwp": 9.9})  # fmt: skip
                rows.append(
                    {"site_id": sid, "day_us": to_us(cal.day), "month_us": to_us(cal.month),
                     "year_us": to_us(cal.year), "power_w": None, "power_us": None,
                     **{f"{w}_{p}": rng.uniform(0, 5e6) for w in ("pv", "export")
                        for p in ("day", "month", "year", "total")},
                     **{f"pv_m{k}": rng.uniform(0, 9e5) for k in range(12)}}
                )  # fmt: skip
            s.execute(insert(Site), sites)
            s.execute(insert(SiteSummary), rows)
            # Two inverters a site; both report a lifetime counter on every other site.
            inverters, counters = [], []
            for i, site in enumerate(sites):
                for k in range(2):
                    did = str(uuid.uuid4())
                    inverters.append({"id": did, "site_id": site["id"], "kind": "inverter",
                                      "serial": f"INV-{i:05d}-{k}"})  # fmt: skip
                    if i % 2 == 0:
                        counters.append({"device_id": did, "yield_wh": rng.uniform(1e6, 9e7),
                                         "at": NOW})  # fmt: skip
            s.execute(insert(Device), inverters)
            s.execute(insert(LifetimeYield), counters)
            per_eur = {
                "USD": Decimal("1.0826"),
                "GBP": Decimal("0.8328"),
                "CHF": Decimal("1.0116"),
                "SEK": Decimal("10.33"),
            }
            fx.store(s, [ReferenceRates(date(2026, 7, 14), per_eur)])
        with runtime.db.session() as s:
            user = s.get(User, world.accounts["admin@I1"].id)
            org_row = s.get(Org, world.org_id("I1"))
            assert user is not None and org_row is not None
            s.expunge_all()
        caller = Caller(user=user, org=org_row, address="bench")

        def figures() -> object:
            with runtime.db.session() as s:
                return fleet_service.fleet_figures(s, caller, settings, NOW)

        def ranking(cumulative: bool) -> object:
            with runtime.db.session() as s:
                zones = {"Europe/Berlin": cal}
                return fleet_service._ranking(s, caller, zones, 10, cumulative=cumulative)

        kpis = figures().kpis  # type: ignore[attr-defined]

        def converted() -> object:
            with runtime.db.session() as s:
                return revenue_in(s, kpis.revenue, "USD", NOW)

        def tile() -> object:
            try:  # the home tile's total yield (absent before the lifetime-counter tile)
                from voltfleet.app.telemetry.fleet_total_yield import fleet_total
            except ImportError:
                return None
            with runtime.db.session() as s:
                return fleet_total(s, caller)

        base = timed(figures)
        tile_ms = timed(tile)
        year = timed(lambda: ranking(False))
        total = timed(lambda: ranking(True))
        conv = timed(converted)
        print(f"{SITES} sites, {len(CURRENCIES)} currencies, SQLite, median of {RUNS} runs")
        print(f"fleet figures (the page's sums, both rankings): {base:.1f} ms")
        print(f"  ranking by this year's yield (the old one):    {year:.1f} ms")
        print(f"  ranking by cumulative yield (the new tab):      {total:.1f} ms")
        print(f"total yield tile (lifetime counters or since joining): {tile_ms:.1f} ms "
              f"{tile()}")  # fmt: skip
        print(f"revenue in the user's currency (rates + Decimal): {conv:.2f} ms "
              f"({conv / base * 100:.1f} % of the figures)")  # fmt: skip
        print(f"converted total: {converted().periods['total']:.2f} USD")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
