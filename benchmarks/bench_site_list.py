"""The site list with the manual's columns on 10,000 sites: SQLite and PostgreSQL (issue 19).

Seeds the fleet of bench_site_search.py (10,000 sites, 50,000 devices, one platform administrator
whose scope holds every site), then what ingest keeps from the devices' readings: a site summary
per site (PV power now, today's yield; as store/summaries.py writes them) and active alarms on
one site in five. Then times, p50 and p95 of 30 runs after a warm-up:

* the portal page ``GET /site`` (HTML, 25 rows, the manual's columns: status, name, type, region,
  online rate, capacity, power now, yield today, active alarms, superior), in natural name
  order and sorted by power now, yield today and active alarms;
* the JSON list ``GET /api/v1/sites`` (50 rows with the same figures), the same orders;
* in the same run, the baseline: the list as main computed it (the repository's query in plain
  name order, count and page, and the old column set's views), beside the new one at the same
  level (page of sites in natural order and its figures). Target: under 200 ms;
* in the same run again, the page and JSON requests without migration 0036's covering indexes
  (``no 0036:`` rows), the list as it was before them.

    .venv/bin/python benchmarks/bench_site_list.py     # SQLite, and PostgreSQL if found
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _pg import SKIPPED, postgres_server, scratch_database
from bench_site_search import SITES, seed

from voltfleet.app.deps import Caller
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal.session import COOKIE
from voltfleet.app.sites import listing, service
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.telemetry.fleet_revenue import calendar
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.domain.telemetry.batch import to_us
from voltfleet.settings import Settings
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.db import new_id
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, User
from voltfleet.store.telemetry_models import SiteSummary

RUNS = 30
TARGET_MS = 200.0
SORTS = ["name", "-power", "-yield_today", "-alarms", "-online_rate"]


def seed_figures(settings: Settings) -> None:
    """A summary for every site (power now, today's yield) and active alarms on every fifth."""
    runtime = build_runtime(settings)
    now = runtime.clock.now()
    cal = calendar("Europe/Berlin", now)
    day, month, year = to_us(cal.day), to_us(cal.month), to_us(cal.year)
    with runtime.db.session() as s:
        sites = list(s.execute(select(Site.id).order_by(Site.id)).scalars())
        devices = dict(
            s.execute(select(Device.site_id, Device.id).where(Device.kind == "inverter")).all()
        )
        rows, alarms = [], []
        for n, site_id in enumerate(sites):
            months = {f"pv_m{k}": 300_000.0 + n for k in range(12)}
            rows.append(
                dict(
                    site_id=site_id,
                    day_us=day if n % 7 else day - 86_400_000_000,  # some silent since yesterday
                    month_us=month,
                    year_us=year,
                    pv_day=(n * 37) % 40_000,
                    pv_month=400_000.0,
                    pv_year=4_000_000.0,
                    pv_total=20_000_000.0 + n,
                    export_day=1_000.0,
                    export_month=100_000.0,
                    export_year=1_000_000.0,
                    export_total=5_000_000.0,
                    power_w=float((n * 53) % 9_000) if n % 9 else None,
                    power_us=to_us(now),
                    **months,
                )
            )
            if n % 5 == 0:
                for k in range(1 + n % 3):
                    alarms.append(
                        dict(
                            id=new_id(),
                            site_id=site_id,
                            device_id=devices[site_id],
                            code=f"E{k:03d}",
                            severity="major",
                            message="",
                            raised_at=now,
                            received_at=now,
                        )
                    )
        s.execute(insert(SiteSummary), rows)
        s.execute(insert(Alarm), alarms)
    with runtime.db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    runtime.db.engine.dispose()


def percentiles(fn: Callable[[], object]) -> tuple[float, float, float]:
    """p50 and p95 of the wall time, and the median CPU time of this process (the machine is
    shared: the CPU time says what the list costs when the cores are not busy elsewhere)."""
    fn()  # warm up
    times, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    times.sort()
    return statistics.median(times), times[round(0.95 * (len(times) - 1))], statistics.median(cpu)


def measure(
    settings: Settings, admin_id: str, label: str = "", requests_only: bool = False
) -> list[str]:
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime, migrate=False)
    with runtime.db.session() as s:
        user = s.get(User, admin_id)
        assert user is not None
        org_id = user.org_id
        bearer = runtime.security.issue_token(
            user.id, user.password_changed_at, now=runtime.clock.now()
        )
        cookie = runtime.security.issue_token(
            user.id, user.password_changed_at, now=runtime.clock.now(), kind="session"
        )
    lines = [
        f"{'what':<44}{'p50':>9}{'p95':>10}{'CPU p50':>11}  p95 under {TARGET_MS:.0f} ms",
    ]

    def line(what: str, p50: float, p95: float, cpu: float) -> None:
        ok = "yes" if p95 < TARGET_MS else "NO"
        lines.append(f"{label + what:<44}{p50:>6.1f} ms{p95:>7.1f} ms{cpu:>8.1f} ms  {ok}")

    with TestClient(app) as client:
        client.cookies.set(COOKIE, cookie)
        for sort in SORTS:

            def page(sort: str = sort) -> None:
                r = client.get("/site", params={"sort": sort})
                assert r.status_code == 200 and 'id="sites"' in r.text, r.status_code

            line(f"page GET /site?sort={sort}", *percentiles(page))
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {bearer}"}
        for sort in SORTS:

            def api(sort: str = sort) -> None:
                r = client.get("/api/v1/sites", params={"sort": sort}, headers=headers)
                assert r.status_code == 200, r.text
                assert r.json()["items"][0]["yield_today_wh"] is not None

            line(f"JSON GET /api/v1/sites?sort={sort}", *percentiles(api))
    if requests_only:
        runtime.db.engine.dispose()
        return lines

    def caller(s: object) -> Caller:
        me, my_org = s.get(User, admin_id), s.get(Org, org_id)  # type: ignore[attr-defined]
        return Caller(user=me, org=my_org, address="")

    def baseline() -> None:  # main before issue 19: plain name order, the old column set
        with runtime.db.session() as s:
            who = caller(s)
            stmt = SiteRepository(s, who).query(SiteFilters(), "name")
            rows, _total = paginate(s, stmt, PageParams(page=1, page_size=50))
            service.site_views(s, who, rows)

    def new(sort: str) -> Callable[[], None]:
        def run() -> None:
            with runtime.db.session() as s:
                who = caller(s)
                now = runtime.clock.now()
                rows, _total = listing.page_of_sites(
                    s, who, SiteFilters(), sort, PageParams(page=1, page_size=50), now
                )
                listing.with_figures(service.site_views(s, who, rows), rows, s, now)

        return run

    line("baseline: main's list (name, old columns)", *percentiles(baseline))
    for sort in SORTS:
        line(f"new list, same level (sort={sort})", *percentiles(new(sort)))
    runtime.db.engine.dispose()
    return lines


def run_backend(name: str, url: str, data_dir: Path) -> list[str]:
    settings = Settings(
        mode="test", data_dir=data_dir, database_url=url, secret_key="bench-" + "x" * 40
    )
    started = time.perf_counter()
    _values, admin_id = seed(settings)
    seed_figures(settings)
    seeded = time.perf_counter() - started
    head = (
        f"\n{name}: {SITES:,} sites, 50,000 devices, summaries and alarms "
        f"(seeded in {seeded:.1f} s); {RUNS} runs each"
    )
    lines = [head, *measure(settings, admin_id)]
    # The same requests in the same run without the covering indexes of migration 0036 (what
    # the list cost before them), then the indexes back.
    with_indexes(settings, drop=True)
    lines += measure(settings, admin_id, label="no 0036: ", requests_only=True)[1:]
    with_indexes(settings, drop=False)
    return lines


INDEXES_0036 = {
    "ix_sites_scope_list": ("sites", "org_id, deleted_at, status, name_key, timezone"),
    "ix_site_summaries_now": ("site_summaries", "site_id, power_us, power_w, day_us, pv_day"),
}


def with_indexes(settings: Settings, drop: bool) -> None:
    """Drop (or create again) migration 0036's covering indexes of the site list."""
    runtime = build_runtime(settings)
    with runtime.db.engine.begin() as conn:
        for index, (table, columns) in INDEXES_0036.items():
            sql = f"DROP INDEX {index}" if drop else f"CREATE INDEX {index} ON {table} ({columns})"
            conn.execute(text(sql))
        conn.execute(text("ANALYZE"))
    runtime.db.engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("\n".join(run_backend("SQLite", f"sqlite:///{tmp}/bench.db", Path(tmp))), flush=True)
        with postgres_server() as server:
            if server is None:
                print(SKIPPED)
                return
            with scratch_database(server, "sitelist") as url:
                print("\n".join(run_backend("PostgreSQL", url, Path(tmp))))


if __name__ == "__main__":
    main()
