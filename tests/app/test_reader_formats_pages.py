"""The portal's pages write numbers and dates as their reader chose (issue 19, "two languages:
numbers and dates by locale", "one clock"): a German reader's savings, fleet savings, site list,
API keys; a German-language reader with US formats gets US marks throughout (one set of marks
on a page, as test_a_german_reader_with_us_formats_gets_one_set_of_marks says for the figure
filters)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_money_pages import make_site, meter_worked_example, set_tariffs, sign_in
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import ApiKey, Site

# 23:30 UTC on 15 January is already 16 January in Berlin.
LATE = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
HONEST = {"stored_start": "1", "stored_end": "2,5", "stored_price": "0.1"}


def prefer(client: TestClient, world: World, who: str, **body: str) -> None:
    r = client.patch("/api/v1/me", json=body, headers=world.accounts[who].headers())
    assert r.status_code == 200, r.text


def bucket_cells(html: str, bucket: str) -> list[str]:
    row = re.search(rf'<tr[^>]*data-bucket="{bucket}">(.*?)</tr>', html, re.S)
    assert row, bucket
    return [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def fleet_cells(html: str, site: str) -> list[str]:
    row = re.search(rf'<tr data-site="{site}">(.*?)</tr>', html, re.S)
    assert row, html
    return [c.strip() for c in re.findall(r'<td class="num[^"]*">(.*?)</td>', row.group(1))]


def test_a_german_reader_sees_savings_with_decimal_commas(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w, name="Haus Süd")
    set_tariffs(client, w, site)
    meter_worked_example(client, w, site)
    prefer(client, w, "om@I1", language="de")
    sign_in(client, w, "om@I1")
    params = {"start": "2026-03-02", "end": "2026-03-03", **HONEST}
    html = client.get(f"/sites/{site}/savings", params=params).text
    # the same figures as test_savings_table_and_csv, with German marks
    assert bucket_cells(html, "2026-03-02")[1:] == [
        "2,00", "0,20", "1,20", "0,44", "0,00", "0,00", "0,24", "54,8",
    ]  # fmt: skip
    assert bucket_cells(html, "2026-03-02")[0] == "02.03.2026"  # the day in German order
    assert bucket_cells(html, "total")[0] == "Gesamt (EUR)"
    assert re.search(r'id="total-savings" data-value="[0-9.]+">0,54<', html)
    assert "45,8 %" in html  # of the avoided cost
    assert re.search(r'id="stored-change">\+1,50 kWh \(Wert 0,15 EUR\)', html), html
    losses = re.search(r'data-kwh="([0-9.]+)" id="round-trip-losses">0,80 kWh<', html)
    assert losses and abs(float(losses.group(1)) - 0.8) < 1e-9  # the raw figure for scripts

    monthly = client.get(f"/sites/{site}/savings", params={**params, "aggregation": "MONTH"})
    assert bucket_cells(monthly.text, "2026-03")[0] == "03.2026"
    fleet = client.get("/savings", params={"start": "2026-03-01", "end": "2026-03-31"}).text
    assert fleet_cells(fleet, site) == ["5,50", "0,64", "1,18", "0,00", "0,54", "45,8"]
    assert "vom 01.03.2026 bis einschließlich 31.03.2026" in fleet

    prefer(client, w, "om@I1", formats="en-US")  # German words, US marks
    html = client.get(f"/sites/{site}/savings", params=params).text
    assert bucket_cells(html, "2026-03-02")[1:] == [
        "2.00", "0.20", "1.20", "0.44", "0.00", "0.00", "0.24", "54.8",
    ]  # fmt: skip
    assert 'id="round-trip-losses">0.80 kWh' in html and "45.8 %" in html
    fleet = client.get("/savings", params={"start": "2026-03-01", "end": "2026-03-31"}).text
    assert fleet_cells(fleet, site) == ["5.50", "0.64", "1.18", "0.00", "0.54", "45.8"]


def test_grouping_marks_of_large_savings(client: TestClient, runtime: Runtime) -> None:
    """Thousands: "1.234,56" for a German reader, "1,234.56" with US formats (not "1234.56")."""
    w = build_world(runtime)
    site = make_site(runtime, w)
    set_tariffs(client, w, site)
    r = client.put(
        "/api/v1/meters/interval",
        headers=w.accounts["admin@I1"].headers(),
        json=[
            {
                "site_id": site,
                "start_time": "2026-03-02T00:00:00+00:00",
                "end_time": "2026-03-02T02:00:00+00:00",
                "value": 12345.6,
                "units": "KWH",
                "direction": "IMPORT",
                "tariff_rate": "IMPORT",
                "record_reference_id": "big",
            }
        ],
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    prefer(client, w, "om@I1", language="de")
    sign_in(client, w, "om@I1")
    params = {"start": "2026-03-02", "end": "2026-03-02"}
    html = client.get(f"/sites/{site}/savings", params=params).text
    cells = bucket_cells(html, "2026-03-02")
    assert cells[1:3] == ["12.345,60", "1.234,56"], cells  # kWh, and money at 0.10 EUR/kWh
    fleet = client.get("/savings", params={"start": "2026-03-01", "end": "2026-03-31"}).text
    assert fleet_cells(fleet, site)[:2] == ["12.345,60", "1.234,56"]
    prefer(client, w, "om@I1", formats="en-US")
    cells = bucket_cells(client.get(f"/sites/{site}/savings", params=params).text, "2026-03-02")
    assert cells[1:3] == ["12,345.60", "1,234.56"], cells


def test_site_list_and_api_keys_show_dates_in_the_readers_order_and_zone(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w, name="Dated home")
    r = client.post(
        "/api/v1/me/api-keys", json={"name": "integration"}, headers=w.accounts["om@I1"].headers()
    )
    assert r.status_code in (200, 201), r.text
    with runtime.db.session() as s:
        row = s.get(Site, site)
        assert row is not None
        row.created_at = LATE
        key = s.scalar(select(ApiKey).where(ApiKey.user_id == w.accounts["om@I1"].id))
        assert key is not None
        key.created_at = key.last_used_at = LATE
        s.commit()
    prefer(client, w, "om@I1", language="de", timezone="Europe/Berlin")
    sign_in(client, w, "om@I1")
    page = client.get("/site").text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post(
        "/site/columns", data={"csrf": csrf, "columns": ["created"]}, follow_redirects=False
    )
    listing = client.get("/site").text
    cell = re.search(
        rf'<tr[^>]*data-id="{site}"[^>]*>.*?<td data-col="created"[^>]*>([^<]*)</td>', listing, re.S
    )
    assert cell and cell.group(1) == "16.01.2026", listing  # Berlin's date, German order
    profile = client.get("/account/profile").text
    assert "16.01.2026, zuletzt" in profile and "16.01.2026 00:30 +01:00" in profile, profile

    prefer(client, w, "om@I1", formats="en-US", timezone="America/New_York")
    listing = client.get("/site").text
    cell = re.search(
        rf'<tr[^>]*data-id="{site}"[^>]*>.*?<td data-col="created"[^>]*>([^<]*)</td>', listing, re.S
    )
    assert cell and cell.group(1) == "1/15/2026"  # New York's date, US order
    profile = client.get("/account/profile").text.replace("\u202f", " ")
    assert "1/15/2026 6:30 PM -05:00" in profile


def test_a_tariffs_dates_and_prices_in_the_readers_formats(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    set_tariffs(client, w, site)  # import: valid from 2026-01-01, 0.10 to 0.36875 EUR/kWh
    prefer(client, w, "om@I1", language="de")
    sign_in(client, w, "om@I1")
    html = client.get(f"/sites/{site}/tariff", params={"direction": "IMPORT"}).text
    history = re.search(r'<tr data-valid-from="2026-01-01"[^>]*>(.*?)</tr>', html, re.S)
    assert history and "<td>01.01.2026</td>" in history.group(1), html
    assert "0,10 bis 0,36875 EUR/kWh" in history.group(1)
    prefer(client, w, "om@I1", formats="en-US")
    html = client.get(f"/sites/{site}/tariff", params={"direction": "IMPORT"}).text
    history = re.search(r'<tr data-valid-from="2026-01-01"[^>]*>(.*?)</tr>', html, re.S)
    assert history and "<td>1/1/2026</td>" in history.group(1)
    assert "0.10 bis 0.36875 EUR/kWh" in history.group(1)
