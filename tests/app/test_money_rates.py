"""Money of issue 19 on a real database: the daily ECB job stores the recorded reference rates
from a local HTTP server; the home page shows revenue in the user's currency with the rate and
its day; the day-ahead price fetch records its last success and opens an operator alarm when it
fails or tomorrow's prices are still missing at the configured hour; an automatic tariff is
saved without a question when prices cover tomorrow."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from tests.app.test_jobs import vendor  # noqa: F401  (the price vendors' stand-in)
from tests.app.test_metrics import TOKEN, scrape, value
from tests.app.test_money_pages import csrf_of, make_site, sign_in
from tests.support.world import build_world
from tests.unit.market.test_fetch import VendorServer
from voltfleet.app.exchange import rates as fx
from voltfleet.app.exchange.jobs import EXCHANGE_RATES, MARKET_PRICE_CHECK
from voltfleet.app.runtime import Runtime
from voltfleet.app.tariffs import market_status
from voltfleet.clock import ManualClock
from voltfleet.domain.tariffs import to_us
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import platform_jobs
from voltfleet.market.ecb import parse_ecb
from voltfleet.store.models import Site, User
from voltfleet.store.money_models import MarketPriceRow
from voltfleet.store.rates_models import ExchangeRateRow, MarketFetchRow
from voltfleet.store.telemetry_models import SiteSummary
from voltfleet.usecases.jobs import MARKET_PRICES

ECB = Path(__file__).parents[1] / "fixtures" / "ecb" / "eurofxref-daily-2022-04-13.xml"


class _Ecb(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = ECB.read_bytes() if self.path.endswith("eurofxref-daily.xml") else b"not here"
        self.send_response(200 if body != b"not here" else 404)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ecb() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ecb)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}/stats/eurofxref/eurofxref-daily.xml"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_daily_job_stores_the_ecb_rates(runtime: Runtime, ecb: str) -> None:
    settings = runtime.settings.model_copy(update={"exchange_rates_url": ecb})
    clock = ManualClock(datetime(2022, 4, 13, 15, 0, tzinfo=UTC))
    jobs = InProcessJobs(platform_jobs(runtime.db, settings), clock)
    assert jobs.next_due(EXCHANGE_RATES) == datetime(2022, 4, 13, 15, 30, tzinfo=UTC)
    clock.advance(timedelta(minutes=31))
    assert EXCHANGE_RATES in jobs.run_due()
    with runtime.db.session() as s:
        rows = s.scalars(select(ExchangeRateRow)).all()
        assert len(rows) == 31
        rates = fx.rates_on(s, datetime(2022, 4, 17).date())  # a Sunday: Wednesday's rates
    assert rates is not None and rates.day.isoformat() == "2022-04-13"
    assert rates.per_eur["USD"] == Decimal("1.0826")
    # A second run replaces the day's rates instead of adding rows.
    clock.advance(timedelta(days=1))
    assert EXCHANGE_RATES in jobs.run_due()
    with runtime.db.session() as s:
        assert len(s.scalars(select(ExchangeRateRow)).all()) == 31


def _summary(site_id: str, pv_wh: float) -> dict[str, object]:
    return {
        "site_id": site_id,
        "day_us": to_us(datetime(2020, 1, 1, tzinfo=UTC)),
        "month_us": to_us(datetime(2020, 1, 1, tzinfo=UTC)),
        "year_us": to_us(datetime(2020, 1, 1, tzinfo=UTC)),
        **{f"{w}_{p}": 0.0 for w in ("pv", "export") for p in ("day", "month", "year")},
        "pv_total": pv_wh,
        "export_total": 0.0,
        "power_w": None,
        "power_us": None,
        **{f"pv_m{k}": 0.0 for k in range(12)},
    }


def test_home_shows_revenue_in_the_users_currency_with_the_rate(
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
    sign_in(client, w, "admin@I1")
    page = client.get("/home").text
    # 10 kWh in EUR and 20 kWh in GBP at the default price, in USD through the euro
    want = Decimal(10) * price * Decimal("1.0826") + Decimal(20) * price * Decimal(
        "1.0826"
    ) / Decimal("0.83280")
    total = re.search(r'id="revenue-total">([^<]+)<', page)
    assert total and total.group(1) == f"{want.quantize(Decimal('0.01')):,}", total
    assert 'data-currency="USD"' in page
    rates = re.search(r'id="revenue-rates">(.*?)</p>', page, re.S)
    assert rates, page
    assert "1 EUR = 1.0826 USD (rate of 2022-04-13)" in rates.group(1)
    assert "1 GBP = 1.29995 USD (rate of 2022-04-13)" in rates.group(1)
    # No rate for XAU: shown apart in its own currency, never guessed.
    assert re.search(r'<tr data-currency="XAU"><td>XAU</td>', page)


def test_the_price_fetch_records_its_state_and_raises_an_operator_alarm(
    client: TestClient,
    runtime: Runtime,
    vendor: VendorServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings = runtime.settings.model_copy(
        update={"market_sources": "awattar:DE", "market_base_url": dead, "exchange_rates_url": ""}
    )
    clock = ManualClock(datetime(2024, 6, 15, 12, 30, tzinfo=UTC))
    jobs = InProcessJobs(platform_jobs(runtime.db, settings), clock)
    assert jobs.next_due(MARKET_PRICE_CHECK) == datetime(2024, 6, 15, 15, 0, tzinfo=UTC)
    clock.advance(timedelta(hours=1))
    assert MARKET_PRICES in jobs.run_due()  # failed (logged by the adapter)
    with runtime.db.session() as s:
        row = s.scalars(select(MarketFetchRow)).one()
        assert (row.source, row.area) == ("awattar", "DE")
        assert row.last_attempt_at == clock.now() and row.last_success_at is None
        assert row.alarm_since == clock.now() and "the fetch failed" in row.alarm_reason

    # The vendor answers: the alarm closes, the last fetch and what is known are recorded.
    settings = settings.model_copy(update={"market_base_url": vendor.base_url})
    jobs = InProcessJobs(platform_jobs(runtime.db, settings), clock)
    clock.advance(timedelta(hours=1))
    assert MARKET_PRICES in jobs.run_due()
    with runtime.db.session() as s:
        row = s.scalars(select(MarketFetchRow)).one()
        assert row.last_success_at == clock.now() and row.alarm_since is None
        assert row.covered_until == datetime(2024, 6, 16, 22, 0, tzinfo=UTC)
        # At 15:00 on the 15th tomorrow (the 16th) is covered: no alarm.
        assert market_status.check_tomorrow(s, [("awattar", "DE")], clock.now()) == []
        # On the 16th at 15:00 the 17th is still missing: the operator alarm opens.
        later = datetime(2024, 6, 16, 15, 0, tzinfo=UTC)
        assert market_status.check_tomorrow(s, [("awattar", "DE")], later) == ["awattar:DE"]
        row = s.scalars(select(MarketFetchRow)).one()
        assert row.alarm_since == later
        assert row.alarm_reason == "prices for 2024-06-17 are still missing at 15:00 UTC"

    # The operator's alarm, for Prometheus: 1 while open, with the last successful fetch.
    monkeypatch.setattr(runtime.settings, "metrics_token", TOKEN)
    samples = scrape(client)
    labels = {"source": "awattar", "area": "DE"}
    assert value(samples, "voltfleet_market_price_alarm", **labels) == 1.0
    last = value(samples, "voltfleet_market_prices_last_success_timestamp_seconds", **labels)
    assert last == datetime(2024, 6, 15, 14, 30, tzinfo=UTC).timestamp()

    # Whoever sets an automatic tariff of a site in DE sees the state of its prices.
    w = build_world(runtime)
    site = make_site(runtime, w)
    sign_in(client, w, "admin@I1")
    page = client.get(f"/sites/{site}/tariff?direction=IMPORT").text
    item = re.search(
        r'<li data-source="awattar" data-area="DE" class="fault">(.*?)</li>', page, re.S
    )
    assert item, page
    assert "prices last fetched 2024-06-15 16:30 +02:00" in item.group(1)
    assert "known until 2024-06-17 00:00 +02:00" in item.group(1)
    assert "prices for 2024-06-17 are still missing" in item.group(1)


def test_an_automatic_tariff_is_saved_at_once_when_prices_cover_tomorrow(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    start = runtime.clock.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    with runtime.db.session() as s:
        s.execute(
            insert(MarketPriceRow),
            [
                {"id": str(uuid.uuid4()), "source": "awattar", "area": "DE",
                 "start": start + timedelta(hours=h), "end": start + timedelta(hours=h + 1),
                 "price_per_kwh": 0.1, "currency": "EUR"}
                for h in range(-2, 60)
            ],
        )  # fmt: skip
    sign_in(client, w, "owner@I1")
    with runtime.db.session() as s:
        row = s.get(Site, site)
        assert row is not None
        row.owner_id = w.accounts["owner@I1"].id
    csrf = csrf_of(client.get(f"/sites/{site}/tariff?direction=IMPORT").text)
    r = client.post(
        f"/sites/{site}/tariff/IMPORT",
        data={"csrf": csrf, "manner": "automatic", "currency": "EUR", "valid_from": "2026-01-01",
              "source": "awattar", "area": "DE", "multiplier": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
