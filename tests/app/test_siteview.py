"""The site's function bar on every tab page, by role, and the power-flow picture of the
overview from readings ingested through the real endpoint."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.app.test_live import ingest
from tests.app.test_money_pages import set_tariffs
from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, h, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.domain.weather import DayWeather
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Unavailable

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def home(client: TestClient, world: World) -> dict[str, str]:
    """A site of I1 (gateway GWS, inverter, meter, battery, charger), owned by owner@I1."""
    ids = make_site(client, world, "GWS")
    for kind, serial in (("battery", "GWS-BAT"), ("charger", "GWS-EV")):
        r = client.post(
            f"/api/v1/sites/{ids['site']}/devices",
            json={"kind": kind, "serial": serial, "parent_serial": "GWS"},
            headers=h(world, "admin@I1"),
        )
        assert r.status_code == 201, r.text
        ids[serial] = r.json()["id"]
    r = client.post(
        f"/api/v1/sites/{ids['site']}/distribute",
        json={"user_id": world.accounts["owner@I1"].id},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    ids["token"] = token_for(client, world, ids["GWS"])
    return ids


def tabs(html: str) -> tuple[list[str], list[str]]:
    """The bar's tab keys, and the active one(s)."""
    bar = re.search(r'<nav class="sub site-tabs" id="site-tabs".*?</nav>', html, re.S)
    assert bar, "no function bar on the page"
    keys = re.findall(r'data-tab="([a-z-]+)"', bar.group(0))
    active = re.findall(r'data-tab="([a-z-]+)"[^>]*class="active"', bar.group(0))
    return keys, active


ALL = ["overview", "chart", "energy", "alarms", "settings", "commissioning", "power", "savings",
       "tariff", "battery-plan"]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "active"),
    [
        ("/site/{s}", "overview"),
        ("/site/{s}/chart", "chart"),
        ("/site/{s}/energy", "energy"),
        ("/site/{s}/alarms", "alarms"),
        ("/site/{s}/settings", "settings"),
        ("/site/{s}/commissioning", "commissioning"),
        ("/sites/{s}/power", "power"),
        ("/sites/{s}/savings", "savings"),
        ("/sites/{s}/tariff", "tariff"),
        ("/site/{s}/battery-plan", "battery-plan"),
    ],
)
def test_every_tab_page_has_the_bar_with_its_tab_marked(
    client: TestClient, home: dict[str, str], path: str, active: str
) -> None:
    login(client, "admin.i1@example.com")
    r = client.get(path.format(s=home["site"]))  # the Chart tab leads to a device's chart
    assert r.status_code == 200, r.text
    keys, on = tabs(r.text)
    assert keys == ALL
    assert on == [active]
    assert 'aria-current="page"' in r.text


def test_an_owner_sees_the_tabs_of_their_role_and_no_settings(
    client: TestClient, home: dict[str, str]
) -> None:
    site = home["site"]
    login(client, "om.i1@example.com")  # an O&M engineer changes device settings
    assert tabs(client.get(f"/site/{site}/settings").text) == (ALL, ["settings"])
    login(client, "owner.i1@example.com")
    keys, on = tabs(client.get(f"/site/{site}").text)
    assert keys == [k for k in ALL if k != "settings"] and on == ["overview"]
    assert client.get(f"/site/{site}/settings").status_code == 403
    for path in (f"/site/{site}/energy", f"/sites/{site}/tariff", f"/sites/{site}/savings"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "settings" not in tabs(r.text)[0]


def test_tabs_about_missing_devices_are_left_out(client: TestClient, world: World) -> None:
    ids = make_site(client, world, "GWN")  # no battery, no charger
    login(client, "admin.i1@example.com")
    keys, _ = tabs(client.get(f"/site/{ids['site']}").text)
    assert keys == [k for k in ALL if k not in ("power", "savings", "battery-plan")]


def test_the_alarm_card_loaded_into_the_overview_has_no_bar(
    client: TestClient, home: dict[str, str]
) -> None:
    login(client, "admin.i1@example.com")
    frag = client.get(f"/site/{home['site']}/alarms", headers={"HX-Request": "true"}).text
    assert 'id="site-tabs"' not in frag
    plan = client.get(f"/site/{home['site']}/battery-plan", headers={"HX-Request": "true"}).text
    assert 'id="site-tabs"' not in plan and "<html" not in plan


def test_another_tenant_gets_no_bar_and_no_flow(client: TestClient, home: dict[str, str]) -> None:
    login(client, "admin.i2@example.com")
    assert client.get(f"/site/{home['site']}").status_code == 404
    assert client.get(f"/site/{home['site']}/flow").status_code == 404


def values(html: str) -> dict[str, str]:
    # the values are written with a no-break space before the unit (app/portal/quantity_filters.py)
    found = re.findall(r'data-value="([a-z]+)">([^<]*)<', html)
    return {key: text.replace("\u00a0", " ") for key, text in found}


def lines(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-line="([a-z]+)" data-active="(yes|no)"', html))


def test_the_power_flow_shows_each_flow_its_direction_and_follows_new_readings(
    client: TestClient, home: dict[str, str]
) -> None:
    login(client, "owner.i1@example.com")
    site = home["site"]
    assert 'hx-get="/site/' + site + '/flow"' in client.get(f"/site/{site}").text
    empty = client.get(f"/site/{site}/flow").text
    assert values(empty) == {k: "\u2013" for k in ("pv", "grid", "home", "battery", "ev")}
    assert "No fresh readings" in empty

    ingest(
        client,
        home["token"],
        [
            ("GWS-INV", "pv_power_w", 4.2, "kW"),
            ("GWS-INV", "battery_power_w", 1500, "W"),
            ("GWS-BAT", "soc", 62, "%"),
            ("GWS-MTR", "grid_power_w", -700, "W"),
            ("GWS-EV", "ev_power_w", 1100, "W"),
        ],
    )
    html = client.get(f"/site/{site}/flow").text
    # load derived: 4200 - 700 - 1500 = 2000 W, of which the car takes 1100 W
    assert values(html) == {
        "pv": "4.20 kW",
        "grid": "0.70 kW",
        "home": "0.90 kW",
        "battery": "1.50 kW",
        "ev": "1.10 kW",
    }
    assert "Grid export" in html and "Charging" in html and 'data-soc="62"' in html
    assert lines(html) == {"pv": "yes", "grid": "yes", "home": "yes", "battery": "yes", "ev": "yes"}
    # export: the line runs from the junction (260,150) out to the grid
    assert re.search(r'data-line="grid" data-active="yes" data-from="260.0,150.0"', html)
    assert re.search(r'data-line="pv" data-active="yes" data-from="260.0,45.0"', html)
    assert "(Europe/Berlin)" in html and re.search(r"\+0[12]:00 \(Europe/Berlin\)", html)

    later = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    ingest(
        client,
        home["token"],
        [
            ("GWS-INV", "pv_power_w", 0, "W"),
            ("GWS-INV", "battery_power_w", -800, "W"),
            ("GWS-BAT", "soc", 61, "%"),
            ("GWS-MTR", "grid_power_w", 300, "W"),
            ("GWS-EV", "ev_power_w", 0, "W"),
        ],
        at=later,
    )
    html = client.get(f"/site/{site}/flow").text
    assert values(html)["battery"] == "0.80 kW" and values(html)["grid"] == "0.30 kW"
    assert "Grid import" in html and "Discharging" in html
    assert lines(html)["pv"] == "no" and lines(html)["ev"] == "no"
    assert re.search(r'data-line="battery" data-active="yes" data-from="160.0,245.0"', html)


class FakeWeather:
    """A WeatherHistory that answers what it is told (the adapters have their contract tests)."""

    name = "test weather"

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.asked: list[tuple[float, float, str, date, date]] = []

    def daily(
        self, latitude: float, longitude: float, timezone: str, first: date, last: date
    ) -> list[DayWeather]:
        self.asked.append((latitude, longitude, timezone, first, last))
        if self.fail:
            raise Unavailable(self.fail)
        return [DayWeather(first, -1.5, 4.0, 0.61, 87.0), DayWeather(last, 2.0, None, None, None)]


def place(runtime: Runtime, site_id: str, unit: str = "C") -> None:
    with runtime.db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        site.latitude, site.longitude, site.temperature_unit = 52.52, 13.405, unit


def test_the_weather_card_shows_coordinates_and_seven_local_days(
    client: TestClient, runtime: Runtime, home: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = home["site"]
    weather = FakeWeather()
    monkeypatch.setattr(runtime, "weather", weather)
    login(client, "owner.i1@example.com")
    assert f'hx-get="/site/{site}/weather"' in client.get(f"/site/{site}").text
    html = client.get(f"/site/{site}/weather").text
    assert "The site has no coordinates" in html and not weather.asked

    place(runtime, site)
    html = client.get(f"/site/{site}/weather").text
    ((lat, lon, zone, first, last),) = weather.asked
    assert (lat, lon, zone) == (52.52, 13.405, "Europe/Berlin") and (last - first).days == 6
    assert "52.5200° N · 13.4050° E" in html and "test weather" in html
    rows = re.findall(r'<tr data-day="([0-9-]+)">(.*?)</tr>', html, re.S)
    assert [d for d, _ in rows] == [first.isoformat(), last.isoformat()]
    cells = re.findall(r"<td>([^<]*)</td>", rows[0][1])
    assert cells == [first.isoformat(), "-1.5", "4.0", "0.61", "87"]

    place(runtime, site, unit="F")
    html = client.get(f"/site/{site}/weather").text
    assert "Min. °F" in html and "<td>29.3</td>" in html and "<td>39.2</td>" in html

    monkeypatch.setattr(runtime, "weather", FakeWeather(fail="Open-Meteo answered 503"))
    html = client.get(f"/site/{site}/weather").text
    assert "Weather unavailable: Open-Meteo answered 503" in html
    monkeypatch.setattr(runtime, "weather", None)
    assert "No weather source is configured" in client.get(f"/site/{site}/weather").text

    login(client, "admin.i2@example.com")
    assert client.get(f"/site/{site}/weather").status_code == 404


def minutes(local_day: date, hour: int, points: list[tuple[str, str, float]]) -> list[dict]:
    """One reading a minute for an hour of the site's local day, per (device, point, W)."""
    start = datetime(local_day.year, local_day.month, local_day.day, hour, tzinfo=BERLIN)
    out = []
    for m in range(60):
        ts = (start + timedelta(minutes=m)).astimezone(UTC).isoformat()
        for device, point, w in points:
            out.append({"device": device, "point": point, "ts": ts, "value": w, "unit": "W"})
    return out


def test_savings_per_day_from_telemetry_with_known_readings_and_prices(
    client: TestClient, world: World, home: dict[str, str]
) -> None:
    site = home["site"]
    set_tariffs(client, world, site)  # import 0.10 at night, 0.36875 from 17 to 21; export 0.08
    login(client, "owner.i1@example.com")
    assert f'hx-get="/sites/{site}/savings/telemetry"' in client.get(f"/sites/{site}/savings").text
    assert (
        "No battery and grid power measured" in client.get(f"/sites/{site}/savings/telemetry").text
    )

    day = (datetime.now(BERLIN) - timedelta(days=1)).date()
    readings = minutes(
        day, 2, [("GWS-MTR", "grid_power_w", 2000), ("GWS-BAT", "battery_power_w", 2000)]
    )
    readings += minutes(
        day, 18, [("GWS-MTR", "grid_power_w", 500), ("GWS-BAT", "battery_power_w", -1500)]
    )
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(home["token"]))
    assert r.status_code == 200 and r.json()["quarantined"] == 0, r.text

    html = client.get(f"/sites/{site}/savings/telemetry").text
    row = re.search(rf'<tr data-day="{day.isoformat()}">(.*?)</tr>', html, re.S)
    assert row, html
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
    # 02:00: 2 kWh bought at 0.10 into the battery (without it: none); 18:00: 0.5 kWh bought at
    # 0.36875 while the battery gave 1.5 kWh (without it: 2 kWh at 0.36875)
    with_battery = 2 * 0.10 + 0.5 * 0.36875
    without = 2 * 0.36875
    assert cells == [
        day.isoformat(), "2.50", "0.00", "2.00", "1.50",
        f"{with_battery:.2f}", f"{without:.2f}", f"{without - with_battery:.2f}",
    ]  # fmt: skip
    assert "EUR" in html and "Europe/Berlin" in html

    login(client, "admin.i2@example.com")
    assert client.get(f"/sites/{site}/savings/telemetry").status_code == 404


def test_a_site_without_battery_has_no_telemetry_savings(client: TestClient, world: World) -> None:
    ids = make_site(client, world, "GWN")
    login(client, "admin.i1@example.com")
    assert "This site has no battery" in client.get(f"/sites/{ids['site']}/savings/telemetry").text


def test_the_power_flows_time_is_on_the_sites_clock_in_the_readers_formats(
    client: TestClient, world: World, home: dict[str, str]
) -> None:
    """The time under the picture: the site's clock with its offset, written as the reader
    chose (it was ISO text, "2026-12-06 08:40:00+01:00", whatever the reader's formats)."""
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    ingest(client, home["token"], [("GWS-INV", "pv_power_w", 1.5, "kW")], at=at)
    local = at.astimezone(BERLIN)
    site = home["site"]
    login(client, "owner.i1@example.com")
    for formats, date_text, clock in (
        ("en-US", f"{local.month}/{local.day}/{local.year}", local.strftime("%-I:%M:%S\\s?%p")),
        ("de-DE", local.strftime("%d.%m.%Y"), local.strftime("%H:%M:%S")),
    ):
        r = client.patch("/api/v1/me", json={"formats": formats}, headers=h(world, "owner@I1"))
        assert r.status_code == 200, r.text
        html = client.get(f"/site/{site}/flow").text
        time = re.search(r'id="power-flow-time">([^<]*)<', html)
        assert time, html
        text = time.group(1).replace("\u202f", " ").replace("\xa0", " ")
        offset = local.strftime("%z")
        zone = re.escape(f"{offset[:3]}:{offset[3:]} (Europe/Berlin)")
        pattern = f"{re.escape(date_text)} {clock} {zone}"
        assert re.search(pattern, text), (formats, ascii(text), pattern)


def test_the_overview_names_the_sites_type_in_words(
    client: TestClient, world: World, home: dict[str, str]
) -> None:
    """The words of the site list ("Residential storage"), not the code residential_ess."""
    login(client, "owner.i1@example.com")
    html = client.get(f"/site/{home['site']}").text
    assert 'id="site-type">Residential storage · on-grid<' in html


def test_a_device_page_names_its_kind_in_the_readers_language(
    client: TestClient, world: World, home: dict[str, str]
) -> None:
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "owner@I1"))
    assert r.status_code == 200, r.text
    login(client, "owner.i1@example.com")
    html = client.get(f"/device/{home['GWS-INV']}").text
    assert re.search(r"<h1>Wechselrichter GWS-INV ", html), html[:3000]
    overview = client.get(f"/site/{home['site']}").text  # the devices card: kind and variant
    assert "<td>Wechselrichter · " in overview and "<td>inverter" not in overview
