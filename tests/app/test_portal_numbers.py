"""The site overview writes its figures as the reader's language does and scaled for people
(issue 19): the capacity in the basic information and the power-flow picture's values, like the
site list and the home tiles (app/portal/quantity_filters.py), and the weather card's days and
figures (app/formatting.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_live import ingest
from tests.app.test_site_pages import login
from tests.app.test_siteview import FakeWeather, home, place, values, world  # noqa: F401
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device
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


def test_the_site_and_alarm_lists_group_their_counts(
    client: TestClient,
    runtime: Runtime,
    home: dict[str, str],  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    site = home["site"]
    raised = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    with runtime.db.session() as s:
        inverter = s.scalar(select(Device.id).where(Device.serial == "GWS-INV"))
        assert inverter is not None
        s.add_all(
            Site(org_id=world.org_id("I1"), name=f"Bulk {i}", country="DE", timezone="UTC")
            for i in range(1000)
        )
        s.add_all(
            Alarm(site_id=site, device_id=inverter, code="INV_OVER_TEMPERATURE", severity="minor",
                  raised_at=raised, cleared_at=raised + timedelta(minutes=1))
            for _i in range(1000)
        )  # fmt: skip
        s.commit()
    login(client, world.accounts["admin@I1"].email)
    sites = client.get("/site").text
    tile = re.search(r'href="/site\?status=no_device"><span class="big">([^<]*)<', sites)
    assert tile and tile.group(1) == "1,000"
    assert "1,001 sites · " in sites
    alarms = client.get(f"/site/{site}/alarms", params={"status": "all"}).text
    assert "1,000 alarms · " in alarms

    client.headers["Accept-Language"] = "de"
    sites = client.get("/site").text
    tile = re.search(r'href="/site\?status=no_device"><span class="big">([^<]*)<', sites)
    assert tile and tile.group(1) == "1.000"
    assert "1.001 Anlagen · " in sites
    assert "1.000 Alarme · " in client.get(f"/site/{site}/alarms", params={"status": "all"}).text
