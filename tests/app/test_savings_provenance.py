"""The money API's savings report from a site's own telemetry (``source=telemetry``, and
``auto`` when no meter records were uploaded): the same figures per day as the portal's Savings
tab, with the provenance of each day (method, data, measured quarter hours, the stored-energy
ledger's origin of what the battery delivered)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from tests.app.test_money_pages import set_tariffs
from tests.app.test_site_pages import login
from tests.app.test_siteview import BERLIN, home, minutes, world  # noqa: F401 (fixtures)
from tests.app.test_telemetry import bearer, h, make_site
from tests.support.world import World


def portal_row(client: TestClient, site: str, day: str) -> list[str]:
    html = client.get(f"/sites/{site}/savings/telemetry").text
    row = re.search(rf'<tr data-day="{day}">(.*?)</tr>', html, re.S)
    assert row, html
    return re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))


def test_api_and_portal_give_the_same_savings_for_the_same_days(
    client: TestClient,
    world: World,  # noqa: F811
    home: dict[str, str],  # noqa: F811
) -> None:
    site = home["site"]
    set_tariffs(client, world, site)  # import 0.10 at night, 0.36875 from 17 to 21; export 0.08
    day = (datetime.now(BERLIN) - timedelta(days=2)).date()
    readings = minutes(
        day, 2, [("GWS-MTR", "grid_power_w", 2000), ("GWS-BAT", "battery_power_w", 2000)]
    )
    # noon: PV covers the home, charges 1.5 kW and exports 1 kW
    readings += minutes(
        day, 12, [("GWS-MTR", "grid_power_w", -1000), ("GWS-BAT", "battery_power_w", 1500)]
    )
    readings += minutes(
        day, 18, [("GWS-MTR", "grid_power_w", 500), ("GWS-BAT", "battery_power_w", -1500)]
    )
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(home["token"]))
    assert r.status_code == 200 and r.json()["quarantined"] == 0, r.text

    login(client, "owner.i1@example.com")
    cells = portal_row(client, site, day.isoformat())
    midnight = datetime(day.year, day.month, day.day, tzinfo=BERLIN)
    after = datetime(day.year, day.month, day.day, tzinfo=BERLIN) + timedelta(days=1)
    params = {"start_time": midnight.isoformat(), "end_time": after.isoformat()}
    owner = h(world, "owner@I1")
    r = client.get(f"/api/v1/sites/{site}/savings", params={**params, "source": "telemetry"},
                   headers=owner)  # fmt: skip
    assert r.status_code == 200, r.text
    got = r.json()
    (d,) = got["days"]
    api = [
        d["day"], *(f"{d[k]:.2f}" for k in ("imported_kwh", "exported_kwh", "charged_kwh",
        "discharged_kwh", "cost_with_battery", "cost_without_battery", "savings")),
    ]  # fmt: skip
    assert api == cells
    assert got["total"]["savings"] == d["savings"] and got["buckets"][0]["label"] == day.isoformat()
    # the bucket line reads as the meter method's: savings = supplied value + earnings - cost
    t = got["total"]
    assert abs(t["supplied_value"] + t["export_earnings"] - t["import_cost"] - t["savings"]) < 1e-9
    assert t["import_cost"] == d["import_cost"] and abs(d["export_earnings"] - 0.08) < 1e-9
    # provenance: the method, its data and limit, the quarter hours measured of the day's
    p = got["provenance"]
    assert p["method"] == "telemetry" and "battery_power_w" in p["data"]
    assert "not valued" in p["limit"]
    assert d["steps"] == 12 and d["steps_in_day"] == (after - midnight) // timedelta(minutes=15)
    # the ledger, first in first out: the evening's 1.5 kWh came from the night's grid charge
    assert abs(d["delivered_kwh"]["grid_to_home"] - 1.5) < 1e-6
    assert d["delivered_kwh"]["solar_to_home"] == 0 and d["losses_kwh"] > 0
    # no meter records were uploaded: the default (auto) takes the telemetry as well
    auto = client.get(f"/api/v1/sites/{site}/savings", params=params, headers=owner).json()
    assert auto["provenance"]["method"] == "telemetry" and auto["total"] == got["total"]
    meter = client.get(f"/api/v1/sites/{site}/savings", params={**params, "source":
                       "meter_records"}, headers=owner).json()  # fmt: skip
    assert meter["provenance"]["method"] == "meter_records" and meter["total"]["savings"] == 0
    assert meter["days"] == []


def test_a_site_without_battery_has_no_telemetry_report(client: TestClient, world: World) -> None:  # noqa: F811
    ids = make_site(client, world, "GWX")
    params = {"start_time": "2026-03-03T00:00:00Z", "end_time": "2026-03-04T00:00:00Z"}
    url = f"/api/v1/sites/{ids['site']}/savings"
    r = client.get(url, params={**params, "source": "telemetry"}, headers=h(world, "admin@I1"))
    assert r.status_code == 409 and "no battery" in r.json()["detail"]
    r = client.get(url, params=params, headers=h(world, "admin@I1"))
    assert r.status_code == 200 and r.json()["provenance"]["method"] == "meter_records"
    r = client.get(url, params={**params, "source": "ledger"}, headers=h(world, "admin@I1"))
    assert r.status_code == 422


def test_a_reversed_or_endless_window_is_refused_for_the_telemetry_source(
    client: TestClient,
    world: World,  # noqa: F811
    home: dict[str, str],  # noqa: F811
) -> None:
    """Found by the API fuzzer: the telemetry source took a reversed window as a server error
    and a window of three centuries as a request that never ended."""
    url = f"/api/v1/sites/{home['site']}/savings"
    owner = h(world, "owner@I1")
    for start, end, said in (
        ("2026-05-02T00:00:00Z", "2026-05-01T00:00:00Z", "end_time must be after start_time"),
        ("0740-09-10T01:35:40Z", "1039-11-05T05:00:08Z", "at most 400 days"),
    ):
        for source in ("telemetry", "auto"):
            r = client.get(
                url, params={"start_time": start, "end_time": end, "source": source}, headers=owner
            )
            assert 400 <= r.status_code < 500 and said in r.json()["detail"], r.text
