"""The WeatherHistory port (ports.py): the Open-Meteo adapter over recorded answers (served by an
httpx transport that also checks the request), and the simulator's weather; both give one entry
per local day with plausible values, and a failing source says why."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from voltfleet.forecast.open_meteo import OpenMeteoWeather
from voltfleet.forecast.simulated_weather import SimulatedWeather
from voltfleet.ports import WeatherHistory
from voltfleet.usecases.errors import Unavailable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "open_meteo"
FIRST, LAST = date(2026, 11, 29), date(2026, 12, 5)


def recorded(name: str, status: int = 200) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=json.loads((FIXTURES / name).read_text()))

    return httpx.MockTransport(answer), seen


def sources() -> dict[str, Any]:
    transport, _ = recorded("forecast_berlin_2026-11-29_2026-12-05.json")
    return {"open-meteo": OpenMeteoWeather(transport=transport), "simulated": SimulatedWeather()}


@pytest.mark.parametrize("name", ["open-meteo", "simulated"])
def test_one_plausible_entry_per_local_day(name: str) -> None:
    source: WeatherHistory = sources()[name]
    days = source.daily(52.52, 13.41, "Europe/Berlin", FIRST, LAST)
    assert [d.day for d in days] == [date(2026, 11, 29 + i) if i < 2 else date(2026, 12, i - 1)
                                     for i in range(7)]  # fmt: skip
    for d in days:
        assert d.temperature_min_c is not None and -40 < d.temperature_min_c < 45
        if d.temperature_max_c is not None:
            assert d.temperature_min_c <= d.temperature_max_c
        # December in Berlin: under 2 kWh/m² a day even when clear
        assert d.irradiation_kwh_m2 is not None and 0 <= d.irradiation_kwh_m2 < 2
        assert d.cloud_cover_pct is None or 0 <= d.cloud_cover_pct <= 100
    assert source.name


def test_open_meteo_asks_for_the_days_in_the_zone_and_converts_megajoules() -> None:
    transport, seen = recorded("forecast_berlin_2026-11-29_2026-12-05.json")
    days = OpenMeteoWeather(transport=transport).daily(52.52, 13.41, "Europe/Berlin", FIRST, LAST)
    (request,) = seen
    q = request.url.params
    assert request.url.host == "api.open-meteo.com" and request.url.path == "/v1/forecast"
    assert (q["start_date"], q["end_date"], q["timezone"]) == ("2026-11-29", "2026-12-05",
                                                               "Europe/Berlin")  # fmt: skip
    assert set(q["daily"].split(",")) == {
        "temperature_2m_min", "temperature_2m_max", "shortwave_radiation_sum", "cloud_cover_mean"
    }  # fmt: skip
    assert days[0].irradiation_kwh_m2 == pytest.approx(2.16 / 3.6)
    assert days[0].cloud_cover_pct == 71 and days[0].temperature_max_c == 6.4
    assert days[-1].temperature_max_c is None and days[-1].cloud_cover_pct is None  # not yet known


def test_open_meteo_answers_are_kept_for_an_hour() -> None:
    transport, seen = recorded("forecast_berlin_2026-11-29_2026-12-05.json")
    source = OpenMeteoWeather(transport=transport)
    for _ in range(3):
        source.daily(52.52, 13.41, "Europe/Berlin", FIRST, LAST)
    assert len(seen) == 1


def test_open_meteo_refusal_and_outage_say_why() -> None:
    transport, _ = recorded("error_400.json", status=400)
    with pytest.raises(Unavailable, match="400: Parameter 'start_date' is out of allowed range"):
        OpenMeteoWeather(transport=transport).daily(52.52, 13.41, "UTC", FIRST, LAST)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Unavailable, match="cannot be reached"):
        OpenMeteoWeather(transport=httpx.MockTransport(down)).daily(1.0, 2.0, "UTC", FIRST, LAST)

    def nonsense(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hourly": {}})

    with pytest.raises(Unavailable, match="not understood"):
        OpenMeteoWeather(transport=httpx.MockTransport(nonsense)).daily(1, 2, "UTC", FIRST, LAST)
