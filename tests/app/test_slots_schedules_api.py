"""Slots and schedules over HTTP, with the product brief's examples."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.test_tariffs_api import make_site
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime


def tou(slots: list[tuple[str, str, float]]) -> dict[str, object]:
    return {
        "valid_from": "2026-01-01",
        "kind": "tou",
        "currency": "EUR",
        "periods": [
            {
                "name": "year",
                "start": "01-01",
                "end": "12-31",
                "slots": [{"start": a, "end": b, "price_per_kwh": p} for a, b, p in slots],
            }
        ],
    }


# Berlin winter: local = UTC + 1.
IMPORT = tou(
    [
        ("00:00", "01:00", 0.25),
        ("01:00", "05:00", 0.12),
        ("05:00", "19:00", 0.30),
        ("19:00", "00:00", 0.38),
    ]
)
EXPORT = tou(
    [
        ("00:00", "06:00", 0.05),
        ("06:00", "18:00", 0.08),
        ("18:00", "23:00", 0.928),
        ("23:00", "00:00", 0.10),
    ]
)


def setup(client: TestClient, runtime: Runtime) -> tuple[str, dict[str, str]]:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["om@I1"].headers()
    for direction, body in (("IMPORT", IMPORT), ("EXPORT", EXPORT)):
        r = client.put(f"/api/v1/sites/{site}/tariffs/{direction}", headers=h, json=body)
        assert r.status_code == 200, r.text
    return site, h


def test_brief_import_schedule(client: TestClient, runtime: Runtime) -> None:
    site, h = setup(client, runtime)
    # 5.3 kWh needed between 19:00 and 05:00 local: charge between 01:00 and 05:00.
    r = client.post(
        f"/api/v1/sites/{site}/schedules",
        headers=h,
        json={
            "direction": "IMPORT",
            "start_time": "2026-03-02T18:00:00Z",
            "end_time": "2026-03-03T04:00:00Z",
            "energy_kwh": 5.3,
            "max_power_kw": 1.5,
        },
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["start_time"] == "2026-03-03T00:00:00Z"  # 01:00 local
    assert plan["end_time"] == "2026-03-03T04:00:00Z"  # 05:00 local
    assert abs(plan["energy_kwh"] - 5.3) < 1e-9
    assert abs(plan["cost"] - 5.3 * 0.12) < 1e-9
    assert all(s["power_kw"] <= 1.5 + 1e-12 for s in plan["slots"])


def test_brief_export_schedule(client: TestClient, runtime: Runtime) -> None:
    site, h = setup(client, runtime)
    # 10 kWh to export between 18:00 and 06:00 local: 18:00 to 23:00, earning 9.28 EUR.
    r = client.post(
        f"/api/v1/sites/{site}/schedules",
        headers=h,
        json={
            "direction": "EXPORT",
            "start_time": "2026-03-02T17:00:00Z",
            "end_time": "2026-03-03T05:00:00Z",
            "energy_kwh": 10,
            "max_power_kw": 2,
        },
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["start_time"], plan["end_time"]) == (
        "2026-03-02T17:00:00Z",
        "2026-03-02T22:00:00Z",
    )
    assert abs(plan["earnings"] - 9.28) < 1e-9 and plan["cost"] is None


def test_schedule_that_does_not_fit(client: TestClient, runtime: Runtime) -> None:
    site, h = setup(client, runtime)
    r = client.post(
        f"/api/v1/sites/{site}/schedules",
        headers=h,
        json={
            "direction": "IMPORT",
            "start_time": "2026-03-02T18:00:00Z",
            "end_time": "2026-03-02T20:00:00Z",
            "energy_kwh": 10,
            "max_power_kw": 2,
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["max_fit_kwh"] == 4
    r = client.post(
        f"/api/v1/sites/{site}/schedules",
        headers=h,
        json={
            "direction": "SIDEWAYS",
            "start_time": "2026-03-02T18:00:00Z",
            "end_time": "2026-03-02T20:00:00Z",
            "energy_kwh": -1,
            "max_power_kw": 0,
        },
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"direction", "energy_kwh", "max_power_kw"}


def test_threshold_slots(client: TestClient, runtime: Runtime) -> None:
    site, h = setup(client, runtime)
    day = {"start_time": "2026-03-02T23:00:00Z", "end_time": "2026-03-03T23:00:00Z"}
    url = f"/api/v1/sites/{site}/slots/threshold"
    # Range 0.12..0.38; top half (>= 0.25): 00-01 (0.25), 05-19 (0.30), 19-24 (0.38).
    r = client.get(url, headers=h, params={**day, "segment": "HIGH", "relative": 0.5})
    assert r.status_code == 200, r.text
    got = r.json()
    assert abs(got["threshold_per_kwh"] - 0.25) < 1e-12
    assert got["duration_minutes"] == 20 * 60
    assert [(x["start_time"], x["end_time"]) for x in got["ranges"]] == [
        ("2026-03-02T23:00:00Z", "2026-03-03T00:00:00Z"),
        ("2026-03-03T04:00:00Z", "2026-03-03T23:00:00Z"),
    ]
    r = client.get(url, headers=h, params={**day, "segment": "LOW", "absolute": 0.2})
    assert [(x["start_time"], x["end_time"]) for x in r.json()["ranges"]] == [
        ("2026-03-03T00:00:00Z", "2026-03-03T04:00:00Z")
    ]
    r = client.get(url, headers=h, params={**day, "segment": "LOW"})
    assert r.status_code == 400 and "exactly one" in r.json()["detail"]
    r = client.get(url, headers=h, params={**day, "segment": "LOW", "relative": 2})
    assert r.status_code == 422


def test_time_slots(client: TestClient, runtime: Runtime) -> None:
    site, h = setup(client, runtime)
    url = f"/api/v1/sites/{site}/slots/time"
    day = {"start_time": "2026-03-02T23:00:00Z", "end_time": "2026-03-03T23:00:00Z"}
    r = client.get(
        url,
        headers=h,
        params={**day, "segment": "LOW", "duration_minutes": 300, "continuous": True},
    )
    assert r.status_code == 200, r.text
    # Best 5-hour block: 00:00-05:00 local (0.25 then 4 h at 0.12).
    assert [(x["start_time"], x["end_time"]) for x in r.json()["ranges"]] == [
        ("2026-03-02T23:00:00Z", "2026-03-03T04:00:00Z")
    ]
    r = client.get(
        url,
        headers=h,
        params={**day, "segment": "HIGH", "duration_minutes": 90, "direction": "EXPORT"},
    )
    assert [(x["start_time"], x["end_time"]) for x in r.json()["ranges"]] == [
        ("2026-03-03T17:00:00Z", "2026-03-03T18:30:00Z")
    ]
    r = client.get(url, headers=h, params={**day, "segment": "HIGH", "duration_minutes": 25 * 60})
    assert r.status_code == 400 and "does not fit" in r.json()["detail"]
