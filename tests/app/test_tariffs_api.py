"""Tariffs through the HTTP API: versions, validation errors, DST days, market prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import Site

TOU = {
    "valid_from": "2026-01-01",
    "kind": "tou",
    "currency": "EUR",
    "periods": [
        {
            "name": "all year",
            "start": "01-01",
            "end": "12-31",
            "slots": [
                {"start": "00:00", "end": "07:00", "price_per_kwh": 0.20},
                {"start": "07:00", "end": "22:00", "price_per_kwh": 0.40},
                {"start": "22:00", "end": "00:00", "price_per_kwh": 0.20},
            ],
        }
    ],
}


def make_site(
    runtime: Runtime, world: World, org: str = "I1", tz: str = "Europe/Berlin", country: str = "DE"
) -> str:
    with runtime.db.session() as s:
        site = Site(
            org_id=world.org_id(org),
            name=f"Home {tz}",
            timezone=tz,
            country=country,
            currency="EUR",
        )
        s.add(site)
        s.flush()
        return site.id


def test_set_and_read_tariff_versions(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["admin@I1"].headers()
    r = client.put(
        f"/api/v1/sites/{site}/tariffs/IMPORT",
        headers=h,
        json={
            "valid_from": "2025-01-01",
            "kind": "fixed",
            "currency": "EUR",
            "price_per_kwh": 0.30,
        },
    )
    assert r.status_code == 200, r.text
    r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=TOU)
    assert r.status_code == 200, r.text
    listed = client.get(f"/api/v1/sites/{site}/tariffs", headers=h).json()
    assert [(t["valid_from"], t["kind"]) for t in listed] == [
        ("2025-01-01", "fixed"),
        ("2026-01-01", "tou"),
    ]
    # History: a window over new year prices the old version before it and the new one after.
    r = client.get(
        f"/api/v1/sites/{site}/rates",
        headers=h,
        params={
            "start_time": "2025-12-31T20:00:00Z",
            "end_time": "2026-01-01T08:00:00Z",
            "resolution_minutes": 60,
        },
    )
    assert r.status_code == 200, r.text
    prices = [x["price_per_kwh"] for x in r.json()["rates"]]
    # 20:00Z..23:00Z is 2025 in Berlin (fixed 0.30); from 23:00Z it is 2026 local (TOU).
    assert prices[:3] == [0.30, 0.30, 0.30]
    assert prices[3:10] == [0.20] * 7  # 00:00-07:00 local
    assert prices[10:] == [0.40] * 2  # 07:00-09:00 local
    # Staff of the organisation set tariffs (owners set their own home's: test_money_pages);
    # others see nothing.
    assert (
        client.put(
            f"/api/v1/sites/{site}/tariffs/EXPORT", json=TOU, headers=w.accounts["om@I1"].headers()
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/sites/{site}/tariffs", headers=w.accounts["admin@I2"].headers()
        ).status_code
        == 404
    )


def test_validation_names_period_and_slot(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["admin@I1"].headers()
    bad = {
        **TOU,
        "periods": [
            {
                **TOU["periods"][0],
                "slots": [
                    {"start": "00:00", "end": "07:00", "price_per_kwh": 0.2},
                    {"start": "06:00", "end": "00:00", "price_per_kwh": 0.4},
                ],
            }
        ],
    }
    r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=bad)
    assert r.status_code == 422
    body = r.json()
    assert "all year" in body["detail"] and "overlap" in body["detail"]
    assert body["errors"][0]["period"] == "all year"
    assert body["errors"][0]["slot_index"] in (0, 1)
    gap = {**TOU, "periods": [{**TOU["periods"][0], "end": "06-30"}]}
    r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=gap)
    assert r.status_code == 422 and r.json()["errors"][0]["kind"] == "gap"
    r = client.put(
        f"/api/v1/sites/{site}/tariffs/IMPORT",
        headers=h,
        json={"valid_from": "2026-01-01", "kind": "fixed", "currency": "EUR"},
    )
    assert r.status_code == 400 and "price_per_kwh" in r.json()["detail"]
    r = client.put(
        f"/api/v1/sites/{site}/tariffs/IMPORT",
        headers=h,
        json={
            "valid_from": "2026-01-01",
            "kind": "fixed",
            "currency": "EUR",
            "price_per_kwh": "NaN",
        },
    )
    assert r.status_code == 422
    r = client.get(
        f"/api/v1/sites/{site}/rates",
        headers=h,
        params={"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-02T00:00:00Z"},
    )
    assert r.status_code == 409 and "no IMPORT tariff" in r.json()["detail"]


def test_weekend_and_holiday_prices(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["admin@I1"].headers()
    body = {
        "valid_from": "2026-01-01",
        "kind": "tou_weekday_weekend",
        "currency": "EUR",
        "periods": [
            {
                "name": "year",
                "start": "01-01",
                "end": "12-31",
                "weekday_slots": [{"start": "00:00", "end": "00:00", "price_per_kwh": 0.35}],
                "weekend_slots": [{"start": "00:00", "end": "00:00", "price_per_kwh": 0.25}],
            }
        ],
    }
    assert (
        client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=body).status_code == 200
    )

    # 2026-12-25 is a Friday and a public holiday in Germany: weekend price.
    def day_price(day: str) -> float:
        r = client.get(
            f"/api/v1/sites/{site}/rates",
            headers=h,
            params={
                "start_time": f"{day}T11:00:00Z",
                "end_time": f"{day}T12:00:00Z",
                "resolution_minutes": 60,
            },
        )
        assert r.status_code == 200, r.text
        return float(r.json()["rates"][0]["price_per_kwh"])

    assert day_price("2026-12-24") == 0.35  # Thursday
    assert day_price("2026-12-25") == 0.25  # Christmas Day
    assert day_price("2026-12-26") == 0.25  # Saturday


def test_dst_days_have_23_and_25_hours(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    h = w.accounts["admin@I1"].headers()
    for tz, spring, fall in (
        ("Europe/Berlin", "2026-03-29", "2026-10-25"),
        ("America/New_York", "2026-03-08", "2026-11-01"),
    ):
        site = make_site(runtime, w, tz=tz, country="DE" if "Berlin" in tz else "US")
        assert (
            client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=TOU).status_code
            == 200
        )
        from zoneinfo import ZoneInfo

        for day, hours in ((spring, 23), (fall, 25)):
            d = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(tz))
            start, end = d.astimezone(UTC), (d + timedelta(days=1)).astimezone(UTC)
            r = client.get(
                f"/api/v1/sites/{site}/rates",
                headers=h,
                params={
                    "start_time": start.isoformat(),
                    "end_time": end.isoformat(),
                    "resolution_minutes": 60,
                },
            )
            assert r.status_code == 200, r.text
            rates = r.json()["rates"]
            assert len(rates) == hours, (tz, day)
            # 15 local hours of the day price (07:00-22:00) on every day, DST or not.
            assert sum(1 for x in rates if x["price_per_kwh"] == 0.40) == 15


def test_market_tariff_with_formula(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["admin@I1"].headers()
    body = {
        "valid_from": "2026-01-01",
        "kind": "market",
        "currency": "EUR",
        "source": "awattar",
        "area": "DE",
        "formula": {"markup_per_kwh": 0.02, "grid_fee_per_kwh": 0.08, "vat_rate": 0.19},
    }
    assert (
        client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=body).status_code == 200
    )
    window = {
        "start_time": "2026-02-01T00:00:00Z",
        "end_time": "2026-02-01T04:00:00Z",
        "resolution_minutes": 60,
    }
    r = client.get(f"/api/v1/sites/{site}/rates", headers=h, params=window)
    assert r.status_code == 409 and "market prices missing" in r.json()["detail"]
    prices = [
        {
            "start_time": f"2026-02-01T0{i}:00:00Z",
            "end_time": f"2026-02-01T0{i + 1}:00:00Z",
            "price_per_kwh": 0.1 * i,
        }
        for i in range(4)
    ]
    r = client.put(
        "/api/v1/market-prices/awattar/DE", headers=h, json={"currency": "EUR", "prices": prices}
    )
    assert r.status_code == 403
    r = client.put(
        "/api/v1/market-prices/awattar/DE",
        headers=w.accounts["super"].headers(),
        json={"currency": "EUR", "prices": prices},
    )
    assert r.status_code == 200 and r.json()["stored"] == 4
    r = client.get(f"/api/v1/sites/{site}/rates", headers=h, params=window)
    assert r.status_code == 200, r.text
    got = [x["price_per_kwh"] for x in r.json()["rates"]]
    want = [(0.1 * i + 0.02 + 0.08) * 1.19 for i in range(4)]
    assert all(abs(a - b) < 1e-9 for a, b in zip(got, want, strict=True))


def test_window_errors(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["admin@I1"].headers()
    client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", headers=h, json=TOU)
    url = f"/api/v1/sites/{site}/rates"
    r = client.get(
        url,
        headers=h,
        params={"start_time": "2026-02-02T00:00:00Z", "end_time": "2026-02-01T00:00:00Z"},
    )
    assert r.status_code == 400 and "after start_time" in r.json()["detail"]
    r = client.get(
        url,
        headers=h,
        params={"start_time": "2026-02-01T00:00:00", "end_time": "2026-02-02T00:00:00"},
    )
    assert r.status_code == 400 and "UTC offset" in r.json()["detail"]
    r = client.get(url, headers=h, params={"start_time": "yesterday", "end_time": "now"})
    assert r.status_code == 422
    r = client.get(
        url,
        headers=h,
        params={"start_time": "2020-02-01T00:00:00Z", "end_time": "2026-02-01T00:00:00Z"},
    )
    assert r.status_code == 400 and "at most" in r.json()["detail"]
