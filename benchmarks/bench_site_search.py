"""Site list search on 10,000 sites and 50,000 devices: SQLite and PostgreSQL.

Seeds a fleet (one platform, 10 distributors, 100 installers, 10,000 owners, 10,000 sites with 5
devices each), then times the site list searched by each key, as a platform administrator whose
scope holds every site: through the repository query (count + first page, as the API pages it)
and through the HTTP API (TestClient). The target is 100 ms. Beside it, the peer figure: the same
searches with the fleet indexes dropped.

    .venv/bin/python benchmarks/bench_site_search.py            # SQLite, and PostgreSQL if found
    VOLTFLEET_BENCH_PG_URL=postgresql+psycopg://u@host/db ...   # a server of yours (a scratch
                                                                # database is created and dropped)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _pg import SKIPPED, postgres_server, scratch_database

from voltfleet.app.deps import Caller
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.settings import Settings
from voltfleet.store.db import new_id, utcnow
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, User

SITES = 10_000
DEVICES_PER_SITE = 5
TARGET_MS = 100.0
RUNS = 15
# The indexes the site search relies on (dropped for the peer figure).
FLEET_INDEXES = [
    ("devices", "uq_devices_serial_live"),
    ("devices", "ix_devices_registration_no"),
    ("devices", "ix_devices_site_kind"),
    ("sites", "ix_sites_country_region"),
    ("sites", "ix_sites_org_status"),
    ("sites", "ix_sites_name"),
    ("sites", "ix_sites_org_id"),
    ("sites", "ix_sites_owner_id"),
    ("sites", "ix_sites_deleted_at"),
]
COUNTRIES = ["DE", "AT", "NL", "FR", "IT", "ES", "BE", "CH", "PL", "DK"]


def seed(settings: Settings) -> tuple[dict[str, str], str]:
    """Fill the database; returns the search values and the platform administrator's id."""
    runtime = build_runtime(settings)
    from voltfleet.store.migrate import upgrade

    upgrade(runtime.db.url)
    now = utcnow()
    with runtime.db.session() as s:
        platform_id = new_id()
        orgs = [
            dict(
                id=platform_id,
                name="Platform",
                type="platform",
                parent_id=None,
                path=f"/{platform_id}/",
                access_code="P0000",
                country="",
                description="",
                created_at=now,
            )
        ]
        installers = []
        for d in range(10):
            did = new_id()
            dpath = f"/{platform_id}/{did}/"
            orgs.append(
                dict(
                    id=did,
                    name=f"Distributor {d}",
                    type="distributor",
                    parent_id=platform_id,
                    path=dpath,
                    access_code=f"D{d:04d}",
                    country="DE",
                    description="",
                    created_at=now,
                )
            )
            for i in range(10):
                iid = new_id()
                installers.append(iid)
                orgs.append(
                    dict(
                        id=iid,
                        name=f"Installer {d}-{i}",
                        type="installer",
                        parent_id=did,
                        path=f"{dpath}{iid}/",
                        access_code=f"I{d}{i:03d}",
                        country="DE",
                        description="",
                        created_at=now,
                    )
                )
        s.execute(insert(Org), orgs)
        admin_id = new_id()
        users = [
            dict(
                id=admin_id,
                email="admin@bench",
                username="admin",
                password_hash="x",
                org_id=platform_id,
                role="admin",
                is_superuser=False,
                country="DE",
                currency="EUR",
                avatar_type="",
                created_at=now,
                password_changed_at=now,
            )
        ]
        sites, devices = [], []
        for n in range(SITES):
            org_id = installers[n % len(installers)]
            uid = new_id()
            users.append(
                dict(
                    id=uid,
                    email=f"owner{n:05d}@example.com",
                    username=f"Owner {n}",
                    password_hash="x",
                    org_id=org_id,
                    role="owner",
                    is_superuser=False,
                    country="DE",
                    currency="EUR",
                    avatar_type="",
                    created_at=now,
                    password_changed_at=now,
                )
            )
            sid = new_id()
            status = ("online", "offline", "abnormal", "online", "online")[n % 5]
            sites.append(
                dict(
                    id=sid,
                    org_id=org_id,
                    owner_id=uid,
                    name=f"Home {n:05d} Sonnenweg",
                    address="",
                    country=COUNTRIES[n % 10],
                    region=f"R{n % 16}",
                    timezone="Europe/Berlin",
                    site_type="residential_ess",
                    on_grid=True,
                    currency="EUR",
                    temperature_unit="C",
                    capacity_kwp=5 + n % 10,
                    picture_type="",
                    status=status,
                    stats_inverters=True,
                    stats_meters=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            gw = new_id()
            kinds = ["gateway", "inverter", "battery", "meter", "inverter"]
            for k, kind in enumerate(kinds[:DEVICES_PER_SITE]):
                devices.append(
                    dict(
                        id=gw if k == 0 else new_id(),
                        site_id=sid,
                        parent_id=None if k == 0 else gw,
                        kind=kind,
                        subtype="",
                        serial=f"{kind[:3].upper()}{n:06d}{k}",
                        registration_no=f"REG{n:06d}" if k == 0 else "",
                        name="",
                        model="H10K",
                        fw_dsp="1.0",
                        fw_lcd="1.0",
                        fw_arm="3.1",
                        comm_address=k,
                        status="online",
                        live_data="supported",
                        live_data_enabled=False,
                        in_statistics=True,
                        created_at=now,
                    )
                )
        s.execute(insert(User), users)
        s.execute(insert(Site), sites)
        s.execute(insert(Device), devices)
    with runtime.db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    probe = 7_345
    values = {
        "name": "07345",
        "serial": f"INV{probe:06d}1",
        "registration_no": f"REG{probe:06d}",
        "account": f"owner{probe:05d}@",
        "country": "NL",
        "status": "abnormal",
        "org_id": installers[45],
    }
    return values, admin_id


SEARCHES: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "(no filter)": lambda v: {},
    "site name": lambda v: {"q": v["name"]},
    "device serial": lambda v: {"serial": v["serial"]},
    "registration no": lambda v: {"registration_no": v["registration_no"]},
    "owner account": lambda v: {"account": v["account"]},
    "country": lambda v: {"country": v["country"]},
    "status": lambda v: {"status": v["status"]},
    "superior org": lambda v: {"org_id": v["org_id"]},
}


def median_ms(fn: Callable[[], object]) -> float:
    fn()  # warm up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(
    settings: Settings, values: dict[str, str], admin_id: str
) -> dict[str, tuple[float, float, int]]:
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime, migrate=False)
    results = {}
    with runtime.db.session() as s:
        user = s.get(User, admin_id)
        assert user is not None
        org = s.get(Org, user.org_id)
        assert org is not None
        token = runtime.security.issue_token(
            user.id, user.password_changed_at, now=runtime.clock.now()
        )
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        for label, params_of in SEARCHES.items():
            params = params_of(values)

            def repo_query(params: dict[str, str] = params) -> int:
                with runtime.db.session() as s:
                    me, my_org = s.get(User, admin_id), s.get(Org, org.id)
                    assert me is not None and my_org is not None
                    caller = Caller(user=me, org=my_org, address="")
                    stmt = SiteRepository(s, caller).query(SiteFilters(**params))
                    _rows, total = paginate(s, stmt, PageParams(page=1, page_size=50))
                    return total

            total = repo_query()
            repo_ms = median_ms(repo_query)

            def api(params: dict[str, str] = params) -> None:
                r = client.get("/api/v1/sites", params=params, headers=headers)
                assert r.status_code == 200, r.text

            api_ms = median_ms(api)
            results[label] = (repo_ms, api_ms, total)
    runtime.db.engine.dispose()
    return results


def drop_indexes(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for _table, name in FLEET_INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def run_backend(name: str, url: str, data_dir: Path) -> list[str]:
    settings = Settings(
        mode="test", data_dir=data_dir, database_url=url, secret_key="bench-" + "x" * 40
    )
    started = time.perf_counter()
    values, admin_id = seed(settings)
    seeded = time.perf_counter() - started
    indexed = measure(settings, values, admin_id)
    drop_indexes(url)
    bare = measure(settings, values, admin_id)
    lines = [
        f"\n{name}: {SITES:,} sites, {SITES * DEVICES_PER_SITE:,} devices "
        f"(seeded in {seeded:.1f} s);"
        f" median of {RUNS} runs, count + first page of 50; target {TARGET_MS:.0f} ms",
        f"{'search by':<17}{'hits':>6}  {'repository':>11}{'API':>9}  {'ok':>3}   "
        f"{'peer: no indexes':>17} {'(API)':>8}",
    ]
    for label in SEARCHES:
        repo_ms, api_ms, total = indexed[label]
        bare_repo, bare_api, _ = bare[label]
        ok = "yes" if api_ms <= TARGET_MS else "NO"
        lines.append(
            f"{label:<17}{total:>6}  {repo_ms:>8.1f} ms{api_ms:>6.1f} ms  {ok:>3}   "
            f"{bare_repo:>14.1f} ms {bare_api:>5.1f} ms"
        )
    return lines


def main() -> None:
    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        out += run_backend("SQLite", f"sqlite:///{tmp}/bench.db", Path(tmp))
        print("\n".join(out), flush=True)
        with postgres_server() as server:
            if server is None:
                print(SKIPPED)
                return
            with scratch_database(server, "search") as url:
                print("\n".join(run_backend("PostgreSQL", url, Path(tmp))))


if __name__ == "__main__":
    main()
