"""The battery plan's PV forecast from the configured weather forecast (settings
``weather_forecast``, bootstrap.build_forecaster), and its fallback to the clear sky with the
reason in the plan (API) and on the plan page where O&M read the forecasts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.app.test_battery_plan import site_with_tariff
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import build_forecaster
from voltfleet.domain.weather import HourlyWeather
from voltfleet.forecast.open_meteo_forecast import OpenMeteoForecast
from voltfleet.forecast.simulated_forecast import SimulatedForecast
from voltfleet.forecast.site import SiteForecaster
from voltfleet.settings import Settings
from voltfleet.usecases.errors import Unavailable

BODY = {"capacity_kwh": 10, "soc_now": 0.5, "max_charge_w": 4000, "max_discharge_w": 4000}


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


class Down:
    name = "Open-Meteo forecast"

    def hourly(
        self, latitude: float, longitude: float, first: datetime, last: datetime
    ) -> HourlyWeather:
        raise Unavailable("Open-Meteo answered 503: Service Unavailable")


def test_a_failed_weather_forecast_is_in_the_plan_and_on_its_page(
    client: TestClient, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, _ = site_with_tariff(client, world, "GWF1")
    r = client.patch(
        f"/api/v1/sites/{ids['site']}",
        json={"latitude": 52.52, "longitude": 13.41, "capacity_kwp": 6.0},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    url = f"/api/v1/sites/{ids['site']}/battery-plan"
    # test mode: the simulator's weather, as in the demo
    plan = client.post(url, json=BODY, headers=h(world, "om@I1")).json()
    assert plan["pv_source"] == SimulatedForecast.name and plan["pv_note"] == ""
    monkeypatch.setattr(runtime.planner, "forecaster", SiteForecaster("clearsky", Down()))
    r = client.post(url, json=BODY, headers=h(world, "om@I1"))
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["pv_source"] == "clearsky"
    assert plan["pv_note"] == "Open-Meteo answered 503: Service Unavailable"
    assert max(s["pv_w"] for s in plan["steps"]) > 0  # still a PV forecast: the clear sky
    login(client, next(a.email for k, a in world.accounts.items() if k == "om@I1"))
    page = client.get(f"/site/{ids['site']}/battery-plan").text
    assert 'id="plan-pv-fallback"' in page
    assert "PV forecast uses the clear sky: Open-Meteo answered 503" in page


def test_the_forecast_source_is_chosen_by_the_settings(tmp_path: Path) -> None:
    def settings(**kw: object) -> Settings:
        return Settings(
            data_dir=tmp_path,
            secret_key="k" * 48,
            **kw,  # type: ignore[arg-type]
        )

    om = build_forecaster(
        settings(mode="test", weather_forecast="open-meteo", weather_forecast_url="http://x/f")
    )
    assert isinstance(om.weather, OpenMeteoForecast) and om.weather.url == "http://x/f"
    assert om.source == "clearsky"  # its fallback
    assert isinstance(build_forecaster(settings(mode="demo")).weather, SimulatedForecast)
    off = build_forecaster(settings(mode="test", weather_forecast="off"))
    assert off.weather is None and off.source == "clearsky"
