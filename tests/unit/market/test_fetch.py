"""The fetcher against a real HTTP server on 127.0.0.1 that serves the recorded fixtures.

The server plays the four vendors by path: ENTSO-E (``/api``, token checked), aWATTar
(``/v1/marketdata``), Nord Pool (``/api/DayAheadPrices``, one day per call, 204 when not
published) and Octopus (``/v1/products/...``, two pages; the vendor's host in "next" links is
rewritten to the server's, as a recording proxy would).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.unit.market.helpers import assert_series, fixture, utc
from voltfleet.market import (
    MarketDataError,
    NoDataError,
    OctopusAgileSource,
    SourceSettings,
    fetch_prices,
    market_area,
)

TOKEN = "test-entsoe-token-0123"
DE_LU = "10Y1001A1001A82H"
OCTOPUS = (
    "/v1/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-{}/standard-unit-rates/"
)
NORDPOOL_DAYS = {
    "2025-10-01": "nordpool_dayahead_2025-10-01_se3_fi.json",
    "2025-10-02": "nordpool_dayahead_2025-10-02_se3_fi.json",
}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


class VendorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.delay_s = 0.0

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and left is expected in one test

    def reply(self, path: str, query: dict[str, str]) -> Reply:
        if path == "/api":
            return self._entsoe(query)
        if path == "/v1/marketdata":
            if not query.get("start", "").isdigit() or not query.get("end", "").isdigit():
                return Reply(400, b'{"error": "start and end must be epoch milliseconds"}')
            return Reply(200, fixture("awattar_de_2024-06-16.json"))
        if path == "/api/DayAheadPrices":
            if query.get("market") != "DayAhead" or query.get("deliveryArea") != "SE3":
                return Reply(400, b'{"message": "bad query"}')
            name = NORDPOOL_DAYS.get(query.get("date", ""))
            return Reply(200, fixture(name)) if name else Reply(204)
        if path == OCTOPUS.format("C"):
            name = (
                "octopus_agile_c_2025-01-14_page2.json"
                if query.get("page") == "2"
                else ("octopus_agile_c_2025-01-14_page1.json")
            )
            body = fixture(name).replace(b"https://api.octopus.energy", self.base_url.encode())
            return Reply(200, body)
        if path == OCTOPUS.format("D"):  # "next" left pointing at the real vendor
            return Reply(200, fixture("octopus_agile_c_2025-01-14_page1.json"))
        return Reply(404, b'{"detail": "Not found."}')

    def _entsoe(self, query: dict[str, str]) -> Reply:
        if query.get("securityToken") != TOKEN:
            html = b"<html><head><title>401 Unauthorized</title></head>"
            html += b"<body>Unauthorized</body></html>"
            return Reply(401, html, "text/html")
        if query.get("documentType") != "A44" or query.get("in_Domain") != query.get("out_Domain"):
            return Reply(400, b"<x><Reason><code>999</code><text>Bad query</text></Reason></x>")
        if query.get("periodStart") == "202503292300" and query.get("in_Domain") == DE_LU:
            return Reply(200, fixture("entsoe_a44_de_lu_2025-03-30_dst_pt60m.xml"), "text/xml")
        if query.get("periodStart", "").startswith("2031"):
            return Reply(400, fixture("entsoe_ack_no_matching_data.xml"), "text/xml")
        return Reply(200, fixture("entsoe_ack_no_matching_data.xml"), "text/xml")


class Handler(BaseHTTPRequestHandler):
    server: VendorServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        self.server.requests.append((url.path, query))
        if self.server.delay_s:
            time.sleep(self.server.delay_s)
        reply = self.server.reply(url.path, query)
        self.send_response(reply.status)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.status != 204:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[VendorServer]:
    vendor = VendorServer()
    thread = threading.Thread(
        target=vendor.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield vendor
    finally:
        vendor.shutdown()
        vendor.server_close()
        thread.join(timeout=5)


@pytest.mark.asyncio
async def test_entsoe_dst_day_over_http(server: VendorServer) -> None:
    settings = SourceSettings(token=TOKEN, base_url=server.base_url)
    prices = await fetch_prices(
        "entsoe", market_area("DE"), utc(2025, 3, 29, 23), utc(2025, 3, 30, 22), settings
    )

    assert len(prices) == 23
    assert_series(prices, timedelta(hours=1), "EUR")
    assert prices[0].price_per_kwh == pytest.approx(0.0913)
    assert len(server.requests) == 1
    path, query = server.requests[0]
    assert path == "/api"
    assert query["securityToken"] == TOKEN
    assert (query["in_Domain"], query["out_Domain"], query["documentType"]) == (DE_LU, DE_LU, "A44")
    assert (query["periodStart"], query["periodEnd"]) == ("202503292300", "202503302200")


@pytest.mark.asyncio
async def test_entsoe_wrong_token_is_http_401_without_leaking_the_token(
    server: VendorServer,
) -> None:
    settings = SourceSettings(token="wrong-secret-token", base_url=server.base_url)
    with pytest.raises(MarketDataError) as caught:
        await fetch_prices("entsoe", DE_LU, utc(2025, 3, 29, 23), utc(2025, 3, 30, 22), settings)
    error = caught.value
    assert error.status == 401
    assert error.source == "entsoe"
    assert "HTTP 401" in str(error) and "Unauthorized" in str(error)
    assert "wrong-secret-token" not in str(error)
    assert "securityToken=***" in str(error)
    assert not isinstance(error, NoDataError)


@pytest.mark.asyncio
async def test_entsoe_no_data_answers_raise_no_data_with_the_reason(server: VendorServer) -> None:
    settings = SourceSettings(token=TOKEN, base_url=server.base_url)
    with pytest.raises(NoDataError, match="No matching data found") as ok_status:
        await fetch_prices("entsoe", DE_LU, utc(2030, 1, 1), utc(2030, 1, 2), settings)
    assert ok_status.value.status is None  # HTTP 200 carrying an acknowledgement
    with pytest.raises(NoDataError, match=r"HTTP 400 .*No matching data found") as bad_status:
        await fetch_prices("entsoe", DE_LU, utc(2031, 1, 1), utc(2031, 1, 2), settings)
    assert bad_status.value.status == 400


@pytest.mark.asyncio
async def test_entsoe_without_a_token_never_calls_out(server: VendorServer) -> None:
    with pytest.raises(MarketDataError, match="security token"):
        await fetch_prices(
            "entsoe",
            DE_LU,
            utc(2025, 3, 29, 23),
            utc(2025, 3, 30, 22),
            SourceSettings(base_url=server.base_url),
        )
    assert server.requests == []


@pytest.mark.asyncio
async def test_awattar_result_is_clipped_to_the_window(server: VendorServer) -> None:
    settings = SourceSettings(base_url=server.base_url)
    prices = await fetch_prices("awattar", "de", utc(2024, 6, 16, 0), utc(2024, 6, 16, 6), settings)

    assert [p.start for p in prices] == [utc(2024, 6, 16, h) for h in range(6)]
    _, query = server.requests[0]
    assert query == {"start": "1718496000000", "end": "1718517600000"}


@pytest.mark.asyncio
async def test_nordpool_asks_day_by_day_and_returns_what_is_published(
    server: VendorServer,
) -> None:
    settings = SourceSettings(base_url=server.base_url)
    prices = await fetch_prices(
        "nordpool", market_area("SE", "SE3"), utc(2025, 9, 30, 22), utc(2025, 10, 3, 22), settings
    )

    assert len(prices) == 192  # two days of quarter hours; the third is not published (204)
    assert_series(prices, timedelta(minutes=15), "EUR")
    assert prices[96].start == utc(2025, 10, 1, 22)
    assert prices[96].price_per_kwh == pytest.approx(0.0335)
    assert [q["date"] for _, q in server.requests] == ["2025-10-01", "2025-10-02", "2025-10-03"]


@pytest.mark.asyncio
async def test_nordpool_nothing_published_is_no_data(server: VendorServer) -> None:
    settings = SourceSettings(base_url=server.base_url)
    with pytest.raises(NoDataError, match="empty body"):
        await fetch_prices("nordpool", "SE3", utc(2025, 10, 2, 22), utc(2025, 10, 3, 22), settings)


@pytest.mark.asyncio
async def test_octopus_follows_next_pages(server: VendorServer) -> None:
    settings = SourceSettings(base_url=server.base_url, page_size=30)
    prices = await fetch_prices(
        "octopus", market_area("GB", "C"), utc(2025, 1, 14), utc(2025, 1, 15), settings
    )

    assert len(prices) == 48
    assert_series(prices, timedelta(minutes=30), "GBP")
    assert prices[0].start == utc(2025, 1, 14)
    assert prices[0].price_per_kwh == pytest.approx(0.15813)
    assert prices[-1].price_per_kwh == pytest.approx(0.162225)
    assert len(server.requests) == 2
    first, second = (query for _, query in server.requests)
    assert first == {
        "period_from": "2025-01-14T00:00:00Z",
        "period_to": "2025-01-15T00:00:00Z",
        "page_size": "30",
    }
    assert second["page"] == "2" and second["period_from"] == "2025-01-14T00:00:00Z"


@pytest.mark.asyncio
async def test_octopus_without_vat_and_with_a_shared_client(server: VendorServer) -> None:
    settings = SourceSettings(base_url=server.base_url)
    async with httpx.AsyncClient() as client:
        prices = await fetch_prices(
            OctopusAgileSource(include_vat=False),
            "C",
            utc(2025, 1, 14),
            utc(2025, 1, 15),
            settings,
            client=client,
        )
        assert not client.is_closed  # the caller's client stays open
    assert prices[0].price_per_kwh == pytest.approx(0.1506)


@pytest.mark.asyncio
async def test_next_page_on_another_host_is_not_followed(server: VendorServer) -> None:
    settings = SourceSettings(base_url=server.base_url)
    with pytest.raises(MarketDataError, match="refusing to follow a next page to another host"):
        await fetch_prices("octopus", "D", utc(2025, 1, 14), utc(2025, 1, 15), settings)
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_http_error_reason_comes_from_the_body(server: VendorServer) -> None:
    settings = SourceSettings(base_url=server.base_url, octopus_product="AGILE-00-00-00")
    with pytest.raises(MarketDataError, match=r"HTTP 404 from .*: Not found\.") as caught:
        await fetch_prices("octopus", "C", utc(2025, 1, 14), utc(2025, 1, 15), settings)
    assert caught.value.status == 404


@pytest.mark.asyncio
async def test_a_slow_server_times_out(server: VendorServer) -> None:
    server.delay_s = 1.0
    settings = SourceSettings(base_url=server.base_url, timeout_s=0.2)
    with pytest.raises(MarketDataError, match=r"no answer from .* within 0.2 s"):
        await fetch_prices("awattar", "de", utc(2024, 6, 16), utc(2024, 6, 17), settings)


@pytest.mark.asyncio
async def test_nothing_listening_is_a_clear_error() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as probe:
        port = probe.server_address[1]  # bound, then closed: nobody listens there afterwards
    settings = SourceSettings(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(MarketDataError, match=r"could not reach .*ConnectError"):
        await fetch_prices("awattar", "de", utc(2024, 6, 16), utc(2024, 6, 17), settings)


@pytest.mark.asyncio
async def test_window_must_be_ordered_and_aware() -> None:
    with pytest.raises(MarketDataError, match="before it starts"):
        await fetch_prices("awattar", "de", utc(2024, 6, 17), utc(2024, 6, 16))
    with pytest.raises(MarketDataError, match="unknown price source"):
        await fetch_prices("tibber", "de", utc(2024, 6, 16), utc(2024, 6, 17))
