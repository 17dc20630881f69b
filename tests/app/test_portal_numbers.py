"""The site overview writes its figures as the reader's language does and scaled for people
(issue 19): the capacity in the basic information and the power-flow picture's values, like the
site list and the home tiles (app/portal/quantity_filters.py), and the weather card's days and
figures (app/formatting.py)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.app.test_live import ingest
from tests.app.test_site_pages import login
from tests.app.test_siteview import FakeWeather, home, place, values, world  # noqa: F401
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import Site


def capacity(html: str) -> str:
    found = re.search(r'id="site-capacity" data-kwp="[\d.]+">([^<]*)<', html)
    assert found, "no capacity on the overview"
    return found.group(1).replace("\u00a0", " ")


def test_the_overview_writes_capacity_and_power_flow_in_the_readers_language(
    client: TestClient,
    runtime: Runtime,
    home: dict[str, str],  # noqa: F811
) -> None:
    site = home["site"]
    with runtime.db.session() as s:
        row = s.get(Site, site)
        assert row is not None
        row.capacity_kwp = 12.5
        s.commit()
    ingest(
        client,
        home["token"],
        [("GWS-INV", "pv_power_w", 1_250_000, "W"), ("GWS-MTR", "grid_power_w", -4200, "W")],
    )
    login(client, "owner.i1@example.com")
    assert capacity(client.get(f"/site/{site}").text) == "12.5 kWp"
    flow = values(client.get(f"/site/{site}/flow").text)
    assert flow["pv"] == "1.25 MW" and flow["grid"] == "4.20 kW"  # scaled, not "1250.00 kW"

    client.headers["Accept-Language"] = "de"
    assert capacity(client.get(f"/site/{site}").text) == "12,5 kWp"
    flow = values(client.get(f"/site/{site}/flow").text)
    assert flow["pv"] == "1,25 MW" and flow["grid"] == "4,20 kW"


def test_the_weather_card_writes_days_and_figures_as_the_reader_does(
    client: TestClient,
    runtime: Runtime,
    home: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = home["site"]
    weather = FakeWeather()
    monkeypatch.setattr(runtime, "weather", weather)
    place(runtime, site)
    login(client, "owner.i1@example.com")
    client.headers["Accept-Language"] = "de"
    html = client.get(f"/site/{site}/weather").text
    ((_lat, _lon, _zone, first, _last),) = weather.asked
    rows = re.findall(r'<tr data-day="([0-9-]+)">(.*?)</tr>', html, re.S)
    cells = re.findall(r"<td>([^<]*)</td>", rows[0][1])
    assert cells == [first.strftime("%d.%m.%Y"), "-1,5", "4,0", "0,61", "87"]
