"""Metering, costs and savings over HTTP, with the product brief's worked example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.app.test_tariffs_api import make_site
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime


def fixed(price: float) -> dict[str, object]:
    return {"valid_from": "2026-01-01", "kind": "fixed", "currency": "EUR", "price_per_kwh": price}


def record(
    site: str,
    start: str,
    minutes: int,
    kwh: float,
    direction: str,
    rate: str,
    ref: str | None = None,
    **extra: object,
) -> dict[str, object]:
    a = datetime.fromisoformat(start)
    return {
        "site_id": site,
        "start_time": a.isoformat(),
        "end_time": (a + timedelta(minutes=minutes)).isoformat(),
        "value": kwh,
        "units": "KWH",
        "direction": direction,
        "tariff_rate": rate,
        "record_reference_id": ref,
        **extra,
    }


def test_submit_refuses_bad_records_and_dedupes(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    other = make_site(runtime, w, org="I2")
    h = w.accounts["om@I1"].headers()
    batch = [
        record(site, "2026-03-03T00:00:00+00:00", 15, 1.0, "IMPORT", "IMPORT", "r1"),
        record(site, "2026-03-03T00:15:00+00:00", 15, -1.0, "IMPORT", "IMPORT", "r2"),
        record(site, "2026-03-03T00:30:00+00:00", 15, 1.0, "SIDEWAYS", "IMPORT", "r3"),
        record(site, "2026-03-03T00:45:00+00:00", 15, 1.0, "IMPORT", "IMPORT", "r1"),
        record(other, "2026-03-03T00:00:00+00:00", 15, 1.0, "IMPORT", "IMPORT", "x1"),
        {
            **record(site, "2026-03-03T01:00:00+00:00", 15, 2.0, "IMPORT", "LOCAL", "r5"),
            "units": "KW",
        },
        record(site, "2026-03-03T01:00:00+00:00", 0, 1.0, "IMPORT", "IMPORT", "r6"),
    ]
    r = client.put("/api/v1/meters/interval", headers=h, json=batch)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 2 and out["duplicates"] == 1
    assert [(x["index"], x["code"]) for x in out["refused"]] == [
        (1, "negative_value"),
        (2, "unknown_direction"),
        (4, "unknown_site"),
        (6, "end_not_after_start"),
    ]
    assert all(x["reason"] for x in out["refused"])
    # Sending the same batch again stores nothing twice.
    again = client.put("/api/v1/meters/interval", headers=h, json=batch[:1]).json()
    assert again == {"accepted": 0, "duplicates": 1, "refused": []}
    # Owners may not submit metering.
    r = client.put("/api/v1/meters/interval", headers=w.accounts["owner@I1"].headers(), json=[])
    assert r.status_code == 403


def test_costs_by_local_day(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["om@I1"].headers()
    client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=fixed(0.30))
    # 22:30Z-23:30Z is 23:30-00:30 in Berlin: split pro rata between 2 and 3 March.
    batch = [
        record(site, "2026-03-02T22:30:00+00:00", 60, 2.0, "IMPORT", "IMPORT", "a"),
        record(site, "2026-03-03T10:00:00+00:00", 60, 1.0, "IMPORT", "IMPORT", "b"),
        record(site, "2026-03-03T11:00:00+00:00", 60, 4.0, "IMPORT", "LOCAL", "c"),
    ]
    assert client.put("/api/v1/meters/interval", headers=h, json=batch).json()["accepted"] == 3
    window = {"start_time": "2026-03-01T23:00:00Z", "end_time": "2026-03-03T23:00:00Z"}
    r = client.post(
        f"/api/v1/costs/interval/{site}", headers=h, json=window, params={"aggregation": "DAY"}
    )
    assert r.status_code == 200, r.text
    rep = r.json()
    assert [
        (b["label"], round(b["energy_kwh"], 9), round(b["cost"], 9)) for b in rep["buckets"]
    ] == [("2026-03-02", 1.0, 0.3), ("2026-03-03", 6.0, 0.6)]
    # LOCAL is free unless a local price is set; IMPORT and LOCAL for the same period add up.
    r = client.post(
        f"/api/v1/costs/interval/{site}",
        headers=h,
        json=window,
        params={"tariff_rate": "IMPORT", "aggregation": "MONTH"},
    )
    assert round(r.json()["energy_kwh"], 9) == 3.0 and round(r.json()["cost"], 9) == 0.9
    client.put(f"/api/v1/sites/{site}/tariffs/LOCAL", headers=h, json=fixed(0.10))
    r = client.post(f"/api/v1/costs/interval/{site}", headers=h, json=window)
    assert round(r.json()["cost"], 9) == round(0.9 + 0.4, 9)
    # Another tenant does not see the site.
    r = client.post(
        f"/api/v1/costs/interval/{site}", json=window, headers=w.accounts["admin@D2"].headers()
    )
    assert r.status_code == 404


def test_savings_worked_example(client: TestClient, runtime: Runtime) -> None:
    """5.5 kWh imported for 0.64 EUR, 3.2 kWh supplied worth 1.18 EUR: 0.54 EUR saved, 45.8 %."""
    w = build_world(runtime)
    site = make_site(runtime, w, tz="UTC")
    h = w.accounts["admin@I1"].headers()
    night, peak = 0.64 / 5.5, 1.18 / 3.2
    body = {
        "valid_from": "2026-01-01",
        "kind": "tou",
        "currency": "EUR",
        "periods": [
            {
                "name": "year",
                "start": "01-01",
                "end": "12-31",
                "slots": [
                    {"start": "00:00", "end": "06:00", "price_per_kwh": night},
                    {"start": "06:00", "end": "00:00", "price_per_kwh": peak},
                ],
            }
        ],
    }
    assert (
        client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=body).status_code == 200
    )
    batch = [
        record(site, "2026-03-03T01:00:00+00:00", 60, 5.5, "IMPORT", "IMPORT", "c"),
        record(site, "2026-03-03T18:00:00+00:00", 60, 3.2, "EXPORT", "IMPORT", "s"),
    ]
    assert client.put("/api/v1/meters/interval", headers=h, json=batch).json()["accepted"] == 2
    params = {
        "start_time": "2026-03-03T00:00:00Z",
        "end_time": "2026-03-04T00:00:00Z",
        "stored_energy_start_kwh": 1.0,
        "stored_energy_end_kwh": 2.0,
        "stored_energy_price_per_kwh": night,
    }
    r = client.get(f"/api/v1/sites/{site}/savings", headers=h, params=params)
    assert r.status_code == 200, r.text
    t = r.json()["total"]
    assert round(t["import_cost"], 2) == 0.64 and round(t["supplied_value"], 2) == 1.18
    assert round(t["savings"], 2) == 0.54 and round(t["savings_percent"], 1) == 45.8
    # The honest lines: 1 kWh more is in the battery, and 5.5 - 3.2 - 1.0 = 1.3 kWh was lost.
    assert round(t["stored_energy_change_kwh"], 9) == 1.0
    assert round(t["round_trip_losses_kwh"], 9) == 1.3
    assert round(t["stored_energy_change_value"], 9) == round(night, 9)


def test_costs_need_the_tariffs_they_use(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["admin@I1"].headers()
    batch = [record(site, "2026-03-03T10:00:00+00:00", 60, 1.0, "EXPORT", "EXPORT", "e")]
    client.put("/api/v1/meters/interval", headers=h, json=batch)
    r = client.post(
        f"/api/v1/costs/interval/{site}",
        headers=h,
        json={
            "start_time": datetime(2026, 3, 3, tzinfo=UTC).isoformat(),
            "end_time": datetime(2026, 3, 4, tzinfo=UTC).isoformat(),
        },
    )
    assert r.status_code == 409 and "no EXPORT tariff" in r.json()["detail"]
