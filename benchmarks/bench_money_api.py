"""The money API end to end: a year of 15-minute metering costed by month, and slots and a
schedule over 7 days of 15-minute prices, through HTTP (TestClient) on SQLite and PostgreSQL.

Beside each figure: the pure core alone on the same data in the same run (the part the API adds
is loading rows, pricing from stored tariffs and JSON). Targets from issue 5: costs < 10 ms,
slots and schedules < 2 ms (the targets are for the core; the API figures show the overhead).

    .venv/bin/python benchmarks/bench_money_api.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.pg_server import PgServer, pg_bindir

from voltfleet.accounts import create_superuser
from voltfleet.app.metering.service import load_columns
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.domain.accounting import Aggregation, CostRates, energy_costs
from voltfleet.domain.slots import Segment, threshold_slots
from voltfleet.domain.tariffs import (
    MonthDay,
    TariffHistory,
    TimeSlot,
    TouPeriod,
    TouTariff,
    price_series,
    to_us,
)
from voltfleet.settings import Settings
from voltfleet.store.models import Site
from voltfleet.store.money_models import MeterIntervalRow, TariffVersion

RUNS = 15
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
SLOTS = [
    ("00:00", "06:00", 0.21),
    ("06:00", "17:00", 0.32),
    ("17:00", "21:00", 0.45),
    ("21:00", "00:00", 0.27),
]
TOU = {
    "kind": "tou",
    "currency": "EUR",
    "periods": [
        {
            "name": "year",
            "start": "01-01",
            "end": "12-31",
            "slots": [{"start": a, "end": b, "price_per_kwh": p} for a, b, p in SLOTS],
        }
    ],
}


def median_ms(fn: Callable[[], object]) -> float:
    fn()
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run(url: str, label: str, tmp: Path) -> None:
    settings = Settings(
        mode="test",
        data_dir=tmp,
        database_url=url,
        secret_key="b" * 40,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime)
    with runtime.db.session() as s:
        su = create_superuser(s, runtime, "bench@example.com", "Bench#123")
        site = Site(org_id=su.org_id, name="bench", timezone="Europe/Berlin", country="DE")
        s.add(site)
        s.flush()
        site_id = site.id
        s.add(
            TariffVersion(
                site_id=site_id,
                direction="IMPORT",
                valid_from=date(2024, 1, 1),
                kind="tou",
                currency="EUR",
                definition=TOU,
            )
        )
        rows = []
        step = timedelta(minutes=15)
        for i in range(365 * 96):
            a = YEAR_START + i * step
            rows.append(
                {
                    "id": f"r{i}",
                    "site_id": site_id,
                    "start": a,
                    "end": a + step,
                    "start_us": to_us(a),
                    "end_us": to_us(a + step),
                    "energy_wh": 100.0 + (i % 96) * 3,
                    "direction": "IMPORT",
                    "tariff_rate": "IMPORT",
                    "created_at": YEAR_START,
                }
            )
        s.execute(insert(MeterIntervalRow), rows)
        token = runtime.security.issue_token(su.id, su.password_changed_at, now=runtime.clock.now())
    client = TestClient(app)
    h = {"Authorization": f"Bearer {token}"}
    year = {
        "start_time": YEAR_START.isoformat(),
        "end_time": (YEAR_START + timedelta(days=365)).isoformat(),
    }

    def api_costs() -> None:
        r = client.post(
            f"/api/v1/costs/interval/{site_id}",
            headers=h,
            json=year,
            params={"aggregation": "MONTH"},
        )
        assert r.status_code == 200 and len(r.json()["buckets"]) == 13, r.text

    tariff = TouTariff(
        "EUR",
        (
            TouPeriod(
                "year",
                MonthDay(1, 1),
                MonthDay(12, 31),
                tuple(
                    TimeSlot(
                        datetime.strptime(a, "%H:%M").time(),
                        datetime.strptime(b, "%H:%M").time(),
                        p,
                    )
                    for a, b, p in SLOTS
                ),
            ),
        ),
    )
    y0, y1 = YEAR_START, YEAR_START + timedelta(days=365)
    with runtime.db.session() as s:
        columns = load_columns(s, site_id, y0, y1, None)
    rates = price_series(TariffHistory.always(tariff), "Europe/Berlin", y0, y1, resolution=None)

    def core_costs() -> None:
        energy_costs(
            columns, CostRates("EUR", rates, None, None), "Europe/Berlin", y0, y1, Aggregation.MONTH
        )

    week = {"start_time": "2025-03-03T00:00:00Z", "end_time": "2025-03-10T00:00:00Z"}

    def api_slots() -> None:
        r = client.get(
            f"/api/v1/sites/{site_id}/slots/threshold",
            headers=h,
            params={**week, "segment": "HIGH", "relative": 0.5},
        )
        assert r.status_code == 200, r.text

    def api_schedule() -> None:
        r = client.post(
            f"/api/v1/sites/{site_id}/schedules",
            headers=h,
            json={**week, "direction": "IMPORT", "energy_kwh": 30, "max_power_kw": 3},
        )
        assert r.status_code == 200, r.text

    w0, w1 = datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 10, tzinfo=UTC)

    def core_slots() -> None:
        series = price_series(TariffHistory.always(tariff), "Europe/Berlin", w0, w1)
        threshold_slots(series, Segment.HIGH, relative=0.5)

    print(f"\n[{label}]")
    for name, fn in (
        ("costs, a year of 15-min intervals by month, HTTP API", api_costs),
        ("  the core alone on the same columns (target < 10 ms)", core_costs),
        ("threshold slots, 7 days of 15-min prices, HTTP API", api_slots),
        ("  the core alone, pricing included (target < 2 ms)", core_slots),
        ("schedule 30 kWh over 7 days, HTTP API", api_schedule),
    ):
        print(f"  {name:<56} {median_ms(fn):8.2f} ms")
    runtime.db.engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", Path(tmp))
        pg_url = os.environ.get("VOLTFLEET_BENCH_PG_URL")
        server = None
        if not pg_url and pg_bindir():
            server = PgServer(pg_bindir())  # type: ignore[arg-type]
            pg_url = server.start()
        if pg_url:
            try:
                run(pg_url, "PostgreSQL", Path(tmp))
            finally:
                if server:
                    server.stop()


if __name__ == "__main__":
    main()
