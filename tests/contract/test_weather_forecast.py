"""The WeatherForecast port (ports.py) and the PV forecast that reads it (forecast.site):
the Open-Meteo adapter against a real HTTP server on 127.0.0.1 that serves an answer built
from the documented format (tests/fixtures/open_meteo_forecast/README.md), one fetch per place
cell and hour, failures that say why and fall back to the clear sky; and the simulator's
weather, which gives the PV the simulated homes will see."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from voltfleet.domain.optimisation.forecast import ForecastSite
from voltfleet.forecast.open_meteo_forecast import OpenMeteoForecast
from voltfleet.forecast.simulated_forecast import SimulatedForecast
from voltfleet.forecast.site import SiteForecaster
from voltfleet.ports import WeatherForecast
from voltfleet.simulator.model import PvSpec, pv_power_w
from voltfleet.simulator.weather import irradiance
from voltfleet.usecases.errors import Unavailable

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "open_meteo_forecast"
Q = timedelta(minutes=15)
ASKED = datetime(2026, 6, 4, 10, 20, tzinfo=UTC).timestamp()  # when the fixture was "asked"
BERLIN = ForecastSite(timezone="Europe/Berlin", capacity_kwp=5.0, latitude=52.52, longitude=13.41)


def day(d: int) -> list[datetime]:
    return [datetime(2026, 6, d, tzinfo=UTC) + i * Q for i in range(96)]


class Server:
    def __init__(self) -> None:
        self.mode = "ok"
        self.queries: list[dict[str, list[str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                owner.queries.append(parse_qs(url.query))
                if owner.mode == "error" or url.path != "/v1/forecast":
                    status, body = 400, b'{"error": true, "reason": "Latitude must be in range"}'
                elif owner.mode == "nonsense":
                    status, body = 200, b'{"daily": {}}'
                else:
                    status, body = 200, (FIXTURE / "berlin_2026-06-04.json").read_bytes()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1/forecast"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def source(server: Server, now: list[float] | None = None) -> OpenMeteoForecast:
    clock = now or [ASKED]
    return OpenMeteoForecast(url=server.url, clock_s=lambda: clock[0])


def test_open_meteo_hours_in_utc_keyed_by_their_start(server: Server) -> None:
    f: WeatherForecast = source(server)
    first, last = datetime(2026, 5, 31, tzinfo=UTC), datetime(2026, 6, 9, tzinfo=UTC)
    got = f.hourly(52.52, 13.41, first, last)
    (q,) = server.queries
    assert q["latitude"] == ["52.5000"] and q["longitude"] == ["13.4000"]  # the cell's centre
    assert set(q["hourly"][0].split(",")) >= {"shortwave_radiation", "temperature_2m"}
    assert (q["timezone"], q["past_days"], q["forecast_days"]) == (["GMT"], ["3"], ["3"])
    # radiation stamped 00:00 is the mean of the hour before: that hour starts at 23:00
    assert got.hour_starts[0] == datetime(2026, 5, 31, 23, tzinfo=UTC)
    assert len(got.hour_starts) == 144 and got.covers(got.hour_starts[0], got.hour_starts[-1])
    noon = got.hour_starts.index(datetime(2026, 6, 4, 11, tzinfo=UTC))
    assert 600 < (got.ghi_w_m2[noon] or 0) < 1000 and got.temp_air_c[noon] is not None
    assert got.ghi_w_m2[got.hour_starts.index(datetime(2026, 6, 4, 0, tzinfo=UTC))] == 0


def test_one_fetch_serves_the_sites_of_a_cell_for_the_hour(server: Server) -> None:
    now = [ASKED]
    f = source(server, now)
    first, last = datetime(2026, 6, 4, tzinfo=UTC), datetime(2026, 6, 5, tzinfo=UTC)
    for lat, lon in ((52.52, 13.41), (52.48, 13.38), (52.54, 13.44)):  # Berlin, a few km apart
        f.hourly(lat, lon, first, last)
    assert f.fetches == 1 and len(server.queries) == 1
    f.hourly(48.14, 11.58, first, last)  # Munich: its own cell
    assert f.fetches == 2
    now[0] += 3600  # the next hour: asked again
    f.hourly(52.52, 13.41, first, last)
    assert f.fetches == 3


def test_failures_say_why_and_a_dead_service_is_asked_once_a_minute(server: Server) -> None:
    now = [ASKED]
    f = source(server, now)
    t = datetime(2026, 6, 4, tzinfo=UTC)
    server.mode = "error"
    with pytest.raises(Unavailable, match="400: Latitude must be in range"):
        f.hourly(52.52, 13.41, t, t)
    with pytest.raises(Unavailable):
        f.hourly(52.52, 13.41, t, t)
    assert f.fetches == 1  # the failure is kept a minute
    server.mode = "nonsense"
    now[0] += 61
    with pytest.raises(Unavailable, match="not understood: the answer has no hourly series"):
        f.hourly(52.52, 13.41, t, t)
    closed = OpenMeteoForecast(url="http://127.0.0.1:9/v1/forecast", timeout_s=1)
    with pytest.raises(Unavailable, match="cannot be reached"):
        closed.hourly(52.52, 13.41, t, t)


def test_pv_forecast_follows_the_weather_forecast(server: Server) -> None:
    weather = SiteForecaster(weather=source(server))
    clear = SiteForecaster("clearsky")
    sunny, dull = weather.forecast(BERLIN, day(4)), weather.forecast(BERLIN, day(5))
    assert sunny.pv_source == "Open-Meteo forecast" and sunny.pv_note == ""
    kwh = {name: sum(f.pv_w) / 4000 for name, f in (("sunny", sunny), ("dull", dull))}
    clear_kwh = sum(clear.forecast(BERLIN, day(5)).pv_w) / 4000
    # the fixture's clearness: 0.95 on the 4th, 0.30 on the 5th
    assert 0.85 * clear_kwh < kwh["sunny"] <= 1.05 * clear_kwh
    assert 0.2 * clear_kwh < kwh["dull"] < 0.45 * clear_kwh
    assert sunny.pv_w[0] == 0  # midnight UTC: dark


def test_pv_forecast_is_still_corrected_by_the_measured_days(server: Server) -> None:
    f = SiteForecaster(weather=source(server))
    past = day(2)
    modelled = f.forecast(BERLIN, past).pv_w
    site = ForecastSite(**{**BERLIN.__dict__, "pv_history": tuple(
        (t, 0.8 * w) for t, w in zip(past, modelled, strict=True))})  # fmt: skip
    got = f.forecast(site, day(4))
    assert got.pv_correction == pytest.approx(0.8, abs=0.01)
    assert got.pv_source == "Open-Meteo forecast x 0.80"


def test_a_failing_forecast_falls_back_to_the_clear_sky_and_says_why(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = "error"
    with caplog.at_level(logging.WARNING, logger="voltfleet.forecast"):
        got = SiteForecaster(weather=source(server)).forecast(BERLIN, day(5))
    assert got.pv_source == "clearsky"
    assert got.pv_note == "Open-Meteo answered 400: Latitude must be in range"
    assert "falls back to the clear sky: Open-Meteo answered 400" in caplog.text
    assert got.pv_w == SiteForecaster("clearsky").forecast(BERLIN, day(5)).pv_w
    # hours the answer does not hold (a week later): the clear sky, and why
    server.mode = "ok"
    later = SiteForecaster(weather=source(server)).forecast(BERLIN, day(12))
    assert later.pv_source == "clearsky" and "does not cover 2026-06-12" in later.pv_note


def test_the_simulators_forecast_is_the_pv_the_simulated_home_sees() -> None:
    times = day(4) + day(5)
    got = SiteForecaster("clearsky", weather=SimulatedForecast()).forecast(BERLIN, times)
    assert got.pv_source == SimulatedForecast.name and got.pv_note == ""
    mid = tuple(t + Q / 2 for t in times)
    home = pv_power_w(PvSpec(capacity_wp=5000.0), irradiance("try", mid, 52.52, 13.41))
    err = np.asarray(got.pv_w) - home
    # hourly means of the same weather: a few percent within the hours, nothing over the days
    assert abs(sum(got.pv_w) - float(home.sum())) < 0.03 * float(home.sum())
    assert float(np.mean(np.abs(err))) < 0.05 * float(home.max())
