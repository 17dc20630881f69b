"""A virtual battery's page (virtual_battery.html) names its year's months and writes its
level as the reader does (issue 19): "03.2026" and "1,234 kWh" for a German reader, not
"2026-03" and "1.234"."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.app.test_virtual_battery import DAY0, Utility, counters, h, world  # noqa: F401
from tests.support.world import PASSWORD, World
from voltfleet.app.runtime import Runtime


def test_a_german_reader_sees_months_and_levels_in_german(
    client: TestClient,
    runtime: Runtime,
    world: World,  # noqa: F811
) -> None:
    u = Utility(client, runtime, world)
    readings, _, _ = counters(DAY0, 1000.0, 5000.0, f"{u.anna['gw']}-MTR")
    u.ingest(u.anna, readings)
    r = u.create(u.anna, 5, DAY0)
    assert r.status_code == 201, r.text
    bid = r.json()["id"]
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "owner@U"))
    assert r.status_code == 200, r.text
    client.cookies.clear()
    r = client.post(
        "/login", data={"email": "anna@example.com", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    year = {"period": "year", "day": DAY0.isoformat()}
    page = client.get(f"/virtual-batteries/{bid}", params=year).text
    rows = re.findall(r"<tr><td>([^<]*)</td>(.*?)</tr>", page.split('id="energy-rows"')[1], re.S)
    assert [month for month, _cells in rows] == [f"{DAY0.month:02d}.{DAY0.year}"]
    # 5 kWh charged and discharged, 4.6 spilled, 2.2 from the grid (as the API test says)
    assert re.findall(r'<td class="num">([^<]*)</td>', rows[0][1])[:4] == [
        "5,000", "5,000", "4,600", "2,200",
    ]  # fmt: skip
    assert re.search(r'id="vb-level">🔋 \d+,\d{3} kWh<', page), page
    r = client.patch("/api/v1/me", json={"formats": "en-US"}, headers=h(world, "owner@U"))
    assert r.status_code == 200, r.text
    page = client.get(f"/virtual-batteries/{bid}", params=year).text
    rows = re.findall(r"<tr><td>([^<]*)</td>", page.split('id="energy-rows"')[1])
    assert rows == [f"{DAY0.month}/{DAY0.year}"]
