"""Issue 19: a chart's series carry people's names and units ("PV power, kW"), in kW and kWh;
a day's chart opened without a day shows the last 24 hours, so just after midnight it is not an
empty "today"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, make_site, token_for
from tests.app.test_telemetry_read import DAY, counters
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry import point_titles
from voltfleet.app.telemetry.pages import _chart_query
from voltfleet.domain.telemetry.points import CATALOGUE

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_the_series_have_names_and_units_people_read(client: TestClient, world: World) -> None:
    ids = make_site(client, world, "GWL1")
    token = token_for(client, world, ids["GWL1"])
    r = client.post(
        "/api/v1/ingest", json={"readings": counters("GWL1-INV", "GWL1-MTR")}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    login(client, "om.i1@example.com")
    page = client.get(
        f"/device/{ids['GWL1-INV']}/chart",
        params={"points": "pv_power_w,pv_energy_wh", "day": DAY.isoformat()},
    ).text
    chart = json.loads(page.split('id="series-data">')[1].split("</script>")[0])
    power, energy = chart["series"]
    assert (power["label"], power["unit"]) == ("PV power, kW", "kW")
    assert (energy["label"], energy["unit"]) == ("PV yield, kWh", "kWh")
    assert max(v for v in power["values"] if v is not None) == pytest.approx(2.0)  # 2,000 W
    total_kwh = sum(v for v in energy["values"] if v is not None)
    assert total_kwh == pytest.approx(6.0, rel=1e-4)  # 6,000 Wh


def test_point_titles_cover_phases_and_fall_back_to_the_name() -> None:
    assert point_titles.label(CATALOGUE["soc"]) == "Battery state of charge, %"
    assert point_titles.label(CATALOGUE["grid_current_l2_a"]) == "Grid current L2, A"
    assert point_titles.label(CATALOGUE["device_status"]) == "device_status, code"


def test_after_midnight_the_default_is_the_last_24_hours() -> None:
    site = SimpleNamespace(timezone="Europe/Berlin")
    just_after_midnight = datetime(2026, 12, 6, 0, 20, tzinfo=BERLIN).astimezone(UTC)
    q = _chart_query(site, "day", "", just_after_midnight)  # type: ignore[arg-type]
    assert q.rolling and q.error is None
    assert q.end - q.start == timedelta(hours=24)
    assert just_after_midnight < q.end <= just_after_midnight + timedelta(minutes=5)
    # a chosen day is that calendar day, and a week stays a week of calendar days
    day = _chart_query(site, "day", "2026-12-05", just_after_midnight)  # type: ignore[arg-type]
    assert not day.rolling
    assert day.start == datetime(2026, 12, 5, tzinfo=BERLIN).astimezone(UTC)
    week = _chart_query(site, "week", "", just_after_midnight)  # type: ignore[arg-type]
    assert not week.rolling and week.end == datetime(2026, 12, 7, tzinfo=BERLIN).astimezone(UTC)
