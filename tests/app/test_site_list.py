"""Issue 19: the site list's columns (online rate, power now, yield today, active alarms,
superior), natural name order and sorting by each column, in the API and on the portal page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry.fleet_revenue import calendar
from voltfleet.domain.telemetry.batch import to_us
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import SiteSummary


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def new_site(client: TestClient, world: World, name: str, **body: object) -> str:
    r = client.post(
        "/api/v1/sites",
        json={"name": name, "country": "DE", **body},
        headers=world.accounts["admin@I1"].headers(),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def figures(
    runtime: Runtime,
    site_id: str,
    *,
    power_w: float | None,
    pv_day_wh: float,
    yesterday: bool = False,
    stale: bool = False,
    alarms: int = 0,
    online: tuple[int, int] = (0, 0),
) -> None:
    """What ingest would have kept for the site: its summary, active alarms, device statuses."""
    now = runtime.clock.now()
    with runtime.db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        cal = calendar(site.timezone, now)
        day = cal.day - timedelta(days=1) if yesterday else cal.day
        zeros = {f"pv_m{k}": 0.0 for k in range(12)}
        s.add(
            SiteSummary(
                site_id=site_id,
                day_us=to_us(day),
                month_us=to_us(cal.month),
                year_us=to_us(cal.year),
                pv_day=pv_day_wh,
                pv_month=pv_day_wh,
                pv_year=pv_day_wh,
                pv_total=pv_day_wh,
                export_day=0.0,
                export_month=0.0,
                export_year=0.0,
                export_total=0.0,
                power_w=power_w,
                power_us=to_us(now - timedelta(hours=2 if stale else 0)),
                **zeros,
            )
        )
        up, total = online
        for k in range(total):
            s.add(
                Device(
                    site_id=site_id,
                    kind="inverter",
                    serial=f"LST-{site_id[:8]}-{k}",
                    status="online" if k < up else "offline",
                )
            )
        s.flush()
        device = s.scalars(select(Device).where(Device.site_id == site_id)).first()
        for k in range(alarms):
            assert device is not None
            s.add(
                Alarm(
                    site_id=site_id,
                    device_id=device.id,
                    code=f"E{k}",
                    severity="major",
                    raised_at=now,
                )
            )


def test_natural_order_and_sorting_by_each_figure(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    h10 = new_site(client, world, "home 10", capacity_kwp=10)
    h6 = new_site(client, world, "Home 6", capacity_kwp=6)
    h2 = new_site(client, world, "home 2", capacity_kwp=2)
    figures(runtime, h10, power_w=2_000, pv_day_wh=9_000, alarms=1, online=(1, 2))
    figures(runtime, h6, power_w=5_000, pv_day_wh=4_000, yesterday=True, online=(2, 2))
    figures(runtime, h2, power_w=7_000, pv_day_wh=1_500, stale=True, alarms=3, online=(0, 1))
    admin = world.accounts["admin@I1"].headers()

    def listed(sort: str) -> list[str]:
        r = client.get("/api/v1/sites", params={"sort": sort}, headers=admin)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["items"]]

    assert listed("name") == [h2, h6, h10]  # "home 6" before "home 10", case-insensitive
    assert listed("-name") == [h10, h6, h2]
    assert listed("-power") == [h6, h10, h2]  # h2's power is two hours old: none now
    assert listed("-yield_today") == [h10, h2, h6]  # h6's yield is yesterday's: 0 today
    assert listed("-alarms") == [h2, h10, h6]
    assert listed("-online_rate") == [h6, h10, h2]
    assert listed("-capacity") == [h10, h6, h2]
    assert listed("capacity_kwp") == [h2, h6, h10]  # the API's older key still works

    items = {s["id"]: s for s in client.get("/api/v1/sites", headers=admin).json()["items"]}
    assert items[h10]["power_w"] == 2_000 and items[h10]["yield_today_wh"] == 9_000
    assert items[h10]["online_rate"] == 0.5 and items[h10]["active_alarms"] == 1
    assert items[h2]["power_w"] is None and items[h2]["active_alarms"] == 3
    assert items[h6]["yield_today_wh"] == 0

    # a renamed site moves to its new place
    r = client.patch(f"/api/v1/sites/{h10}", json={"name": "home 1"}, headers=admin)
    assert r.status_code == 200, r.text
    assert listed("name") == [h10, h2, h6]

    r = client.get("/api/v1/sites", params={"sort": "colour"}, headers=admin)
    assert r.status_code == 422 and "yield_today" in r.text


def test_portal_list_shows_the_manuals_columns(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    h10 = new_site(client, world, "Portal 10", capacity_kwp=9.8)
    h9 = new_site(client, world, "Portal 9", capacity_kwp=1_250)
    figures(runtime, h10, power_w=3_420, pv_day_wh=1_500, alarms=2, online=(1, 2))
    r = client.post(
        "/login",
        data={"email": "admin.i1@example.com", "password": "Secret#123"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/site").text
    head = page.split('<table id="sites">')[1].split("</thead>")[0]
    for heading in (
        "Status",
        "Name",
        "Type",
        "Country / region",
        "Online rate",
        "Capacity",
        "Power now",
        "Yield today",
        "Active alarms",
        "Superior",
    ):
        assert heading in head, heading
    body = page.split('<table id="sites">')[1].split("</table>")[0]
    assert body.index("Portal 9") < body.index("Portal 10")
    assert "Residential storage" in body and "residential_ess" not in body
    row = body.split(f'data-id="{h10}"')[1].split("</tr>")[0]
    assert "3.42\u00a0kW" in row and "1.50\u00a0kWh" in row and "50%" in row
    assert "9.8\u00a0kWp" in row and ">2</a>" in row and "Org I1" in row
    assert "1.25\u00a0MWp" in body.split(f'data-id="{h9}"')[1].split("</tr>")[0]

    by_power = client.get("/site", params={"sort": "-power"}).text
    table = by_power.split('<table id="sites">')[1]
    assert table.index("Portal 10") < table.index("Portal 9")
    assert 'aria-sort="descending"' in table.split("</thead>")[0]

    bad = client.get("/site", params={"sort": "colour"})
    assert bad.status_code == 200 and "cannot sort by" in bad.text
