"""The telemetry read API over readings ingested through the real endpoint: raw readings,
roll-ups, a site's energy bars (numbers and CSV), the fleet's figures, and other tenants' 404."""

from __future__ import annotations

import calendar
import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.app.test_telemetry import bearer, h, iso, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime

# A recent day (inside the 30-day late window) in Berlin: readings from local 10:00 to 13:00.
BERLIN = ZoneInfo("Europe/Berlin")
DAY = (datetime.now(UTC) - timedelta(days=3)).astimezone(BERLIN).date()
T0 = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=BERLIN).astimezone(UTC)
MONTH_DAYS = calendar.monthrange(DAY.year, DAY.month)[1]


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def counters(inv: str, mtr: str, hours: int = 3) -> list[dict[str, object]]:
    """Every 15 minutes for ``hours`` hours from T0: PV +500 Wh, export +200 Wh, import +100 Wh
    per quarter; PV power 2000 W on the inverter, grid power on the meter."""
    out: list[dict[str, object]] = []
    for q in range(hours * 4 + 1):
        ts = iso(T0 + timedelta(minutes=15 * q))
        for device, point, value, unit in (
            (inv, "pv_energy_wh", 10_000 + 500 * q, "Wh"),
            (inv, "pv_power_w", 2000, "W"),
            (mtr, "grid_export_energy_wh", 200 * q, "Wh"),
            (mtr, "grid_import_energy_wh", 100 * q, "Wh"),
        ):
            out.append({"device": device, "point": point, "ts": ts, "value": value, "unit": unit})
    return out


@pytest.fixture
def site(client: TestClient, world: World) -> dict[str, str]:
    ids = make_site(client, world, "GWR1")
    token = token_for(client, world, ids["GWR1"])
    r = client.post(
        "/api/v1/ingest",
        json={"readings": counters("GWR1-INV", "GWR1-MTR")},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["quarantined"] == 0, r.json()
    return ids


def test_raw_readings_json_csv_and_cap(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    inv = site["GWR1-INV"]
    params = {
        "points": "pv_power_w,pv_energy_wh",
        "start_time": iso(T0),
        "end_time": iso(T0 + timedelta(hours=1)),
    }
    r = client.get(f"/api/v1/devices/{inv}/readings", params=params, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 8  # 4 quarters x 2 points, end excluded
    assert [p["name"] for p in body["points"]] == ["pv_power_w", "pv_energy_wh"]
    assert body["readings"][0]["point"] == "pv_energy_wh"
    assert body["readings"][0]["value"] == 10_000

    r = client.get(
        f"/api/v1/devices/{inv}/readings",
        params={**params, "format": "csv"},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["ts (UTC)", "pv_power_w (W)", "pv_energy_wh (Wh)"]
    assert rows[1][0] == iso(T0)
    assert float(rows[1][1]) == 2000 and float(rows[1][2]) == 10_000
    assert len(rows) == 5

    bad = client.get(
        f"/api/v1/devices/{inv}/readings", params={"points": "nope"}, headers=h(world, "om@I1")
    )
    assert bad.status_code == 400 and "unknown data point 'nope'" in bad.json()["detail"]
    wide = client.get(
        f"/api/v1/devices/{inv}/readings",
        params={"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-03-01T00:00:00Z"},
        headers=h(world, "om@I1"),
    )
    assert wide.status_code == 400 and "31 days" in wide.json()["detail"]


def test_readings_beyond_the_cap_are_refused_clearly(
    client: TestClient, world: World, site: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from voltfleet.app.telemetry import read_service

    monkeypatch.setattr(read_service, "MAX_READINGS", 5)
    monkeypatch.setattr(read_service.readings, "__defaults__", (5,))
    r = client.get(
        f"/api/v1/devices/{site['GWR1-INV']}/readings",
        params={"points": "pv_power_w", "start_time": iso(T0),
                "end_time": iso(T0 + timedelta(hours=3))},
        headers=h(world, "om@I1"),
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json()["code"] == "too_many_readings"
    assert "shorter window" in r.json()["detail"]


def test_series_rollups_and_csv(client: TestClient, world: World, site: dict[str, str]) -> None:
    inv = site["GWR1-INV"]
    params = {
        "points": "pv_energy_wh,pv_power_w",
        "resolution": "hour",
        "start_time": iso(T0),
        "end_time": iso(T0 + timedelta(hours=3)),
    }
    r = client.get(f"/api/v1/devices/{inv}/series", params=params, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "Europe/Berlin" and body["resolution"] == "hour"
    energy, power = body["series"]
    assert energy["aggregate"] == "energy" and power["aggregate"] == "mean"
    assert [x["value"] for x in energy["rows"]] == pytest.approx([2000.0, 2000.0, 2000.0])
    assert [x["value"] for x in power["rows"]] == pytest.approx([2000.0] * 3)

    day = client.get(
        f"/api/v1/devices/{inv}/series",
        params={**params, "resolution": "day", "start_time": iso(T0 - timedelta(hours=10)),
                "end_time": iso(T0 + timedelta(hours=14))},
        headers=h(world, "om@I1"),
    )  # fmt: skip
    assert [x["value"] for x in day.json()["series"][0]["rows"]] == pytest.approx([6000.0])

    r = client.get(
        f"/api/v1/devices/{inv}/series",
        params={**params, "format": "csv"},
        headers=h(world, "om@I1"),
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [
        "start_time (UTC)",
        "resolution",
        "pv_energy_wh (Wh, energy)",
        "pv_power_w (W, mean)",
    ]
    assert rows[1] == [iso(T0), "hour", "2000.000", "2000.000"]
    assert len(rows) == 4

    status = client.get(
        f"/api/v1/devices/{inv}/series",
        params={"points": "device_status"},
        headers=h(world, "om@I1"),
    )
    assert status.status_code == 400


def test_site_energy_day_month_year_total(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    sid = site["site"]
    r = client.get(
        f"/api/v1/sites/{sid}/energy",
        params={"period": "day", "date": DAY.isoformat()},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["bars"]) == 24
    assert body["bars"][10]["label"] == "10:00"
    bar = body["bars"][10]
    assert (bar["pv_wh"], bar["grid_export_wh"], bar["grid_import_wh"]) == pytest.approx(
        (2000, 800, 400)
    )
    # consumption = pv + import - export = 2000 + 400 - 800
    assert bar["consumption_wh"] == pytest.approx(1600) and not bar["consumption_measured"]
    assert bar["self_consumption"] == pytest.approx(0.6)
    assert bar["self_sufficiency"] == pytest.approx(0.75)
    total = body["total"]
    assert (total["pv_wh"], total["grid_export_wh"]) == pytest.approx((6000, 2400))
    assert total["consumption_wh"] == pytest.approx(4800)
    assert set(body["devices"]) == {site["GWR1-INV"], site["GWR1-MTR"], site["GWR1"]}

    month = client.get(
        f"/api/v1/sites/{sid}/energy", params={"period": "month", "date": DAY.isoformat()},
        headers=h(world, "admin@I1"),
    ).json()  # fmt: skip
    assert len(month["bars"]) == MONTH_DAYS
    i = DAY.day - 1
    assert month["bars"][i]["label"] == DAY.isoformat()
    assert month["bars"][i]["pv_wh"] == pytest.approx(6000)
    assert month["total"]["pv_wh"] == pytest.approx(6000)
    year = client.get(
        f"/api/v1/sites/{sid}/energy", params={"period": "year", "date": DAY.isoformat()},
        headers=h(world, "admin@I1"),
    ).json()  # fmt: skip
    assert [b["label"] for b in year["bars"]][:2] == [f"{DAY.year}-01", f"{DAY.year}-02"]
    assert year["bars"][DAY.month - 1]["pv_wh"] == pytest.approx(6000) and len(year["bars"]) == 12
    total_all = client.get(
        f"/api/v1/sites/{sid}/energy", params={"period": "total"}, headers=h(world, "admin@I1")
    ).json()
    assert total_all["bars"][0]["label"] == str(DAY.year) and total_all["total"][
        "pv_wh"
    ] == pytest.approx(6000)

    r = client.get(
        f"/api/v1/sites/{sid}/energy",
        params={"period": "day", "date": DAY.isoformat(), "format": "csv"},
        headers=h(world, "admin@I1"),
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:5] == ["bar", "start_time (UTC)", "end_time (UTC)", "pv_kwh", "consumption_kwh"]
    ten = next(x for x in rows if x[0] == "10:00")
    assert ten[3:7] == ["2.000", "1.600", "0.400", "0.800"]
    assert ten[-2:] == ["60.0", "75.0"]
    assert rows[-1][0] == "total" and rows[-1][3] == "6.000"

    bad = client.get(
        f"/api/v1/sites/{sid}/energy", params={"date": "10.06.2026"}, headers=h(world, "admin@I1")
    )
    assert bad.status_code == 400


def test_statistical_range_leaves_out_devices(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    sid = site["site"]
    r = client.put(
        f"/api/v1/sites/{sid}/statistical-range",
        json={"inverters": False, "meters": True},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    body = client.get(
        f"/api/v1/sites/{sid}/energy", params={"period": "day", "date": DAY.isoformat()},
        headers=h(world, "admin@I1"),
    ).json()  # fmt: skip
    assert body["total"]["pv_wh"] == 0
    assert body["total"]["grid_export_wh"] == pytest.approx(2400)


def test_other_tenants_get_404(client: TestClient, world: World, site: dict[str, str]) -> None:
    inv, sid = site["GWR1-INV"], site["site"]
    for who in ("admin@I2", "om@I2", "owner@I2"):
        for url in (
            f"/api/v1/devices/{inv}/readings",
            f"/api/v1/devices/{inv}/series",
            f"/api/v1/sites/{sid}/energy",
            f"/api/v1/sites/{sid}/energy?format=csv",
        ):
            r = client.get(url, headers=h(world, who))
            assert r.status_code == 404, (who, url, r.text)
    kpis = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I2")).json()
    assert all(x["site_id"] != sid for x in kpis["ranking"])


def test_fleet_kpis(
    client: TestClient, world: World, site: dict[str, str], runtime: Runtime
) -> None:
    r = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I1"))
    assert r.status_code == 200, r.text
    body = r.json()
    ranked = {x["site_id"]: x for x in body["ranking"]}
    assert site["site"] in ranked
    assert body["yield_wh"]["total"] >= 5999.99
    eur = body["revenue"][0]
    assert eur["currency"] == "EUR"
    price = runtime.settings.default_price_per_kwh
    assert eur["total"] >= 6.0 * price - 1e-9
    settings = runtime.settings
    kwh = body["yield_wh"]["total"] / 1000
    assert body["green"]["co2_kg"] == pytest.approx(kwh * settings.green_co2_kg_per_kwh)
    assert body["green"]["coal_kg"] == pytest.approx(kwh * settings.green_coal_kg_per_kwh)
    assert len(body["trend"]) == 12
    assert sum(body["status"].values()) == body["sites"]

    r = client.get("/api/v1/fleet/kpis", params={"format": "csv"}, headers=h(world, "admin@I1"))
    rows = list(csv.reader(io.StringIO(r.text)))
    mine = next(x for x in rows if x[0] == site["site"])
    assert mine[7] == "6.000"  # total yield, kWh
    assert mine[-1] == "default_price"


def test_fleet_revenue_from_tariffs(client: TestClient, world: World, site: dict[str, str]) -> None:
    """Export at 0.08 and self-consumption at 0.40 per kWh: 2.4 kWh x 0.08 + 3.6 kWh x 0.40."""
    sid = site["site"]
    for direction, price in (("EXPORT", 0.08), ("IMPORT", 0.40)):
        r = client.put(
            f"/api/v1/sites/{sid}/tariffs/{direction}",
            json={"valid_from": f"{DAY.year - 1}-01-01", "kind": "fixed", "currency": "EUR",
                  "price_per_kwh": price},
            headers=h(world, "admin@I1"),
        )  # fmt: skip
        assert r.status_code in (200, 201), r.text
    r = client.get("/api/v1/fleet/kpis", params={"format": "csv"}, headers=h(world, "admin@I1"))
    rows = list(csv.reader(io.StringIO(r.text)))
    mine = next(x for x in rows if x[0] == site["site"])
    assert mine[-1] == "tariff"
    assert float(mine[-2]) == pytest.approx(2.4 * 0.08 + 3.6 * 0.40)


def _site_row(client: TestClient, world: World, sid: str) -> list[str]:
    r = client.get("/api/v1/fleet/kpis", params={"format": "csv"}, headers=h(world, "admin@I1"))
    return next(x for x in csv.reader(io.StringIO(r.text)) if x[0] == sid)


def test_fleet_figures_follow_new_readings_and_range_changes(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    """The home page's per-site summary: built on first read, then kept up by ingest (more PV
    the same day, a late reading in the middle), dropped and rebuilt when the statistical range
    changes."""
    sid = site["site"]
    assert _site_row(client, world, sid)[7] == "6.000"  # total yield kWh, summary now exists
    token = token_for(client, world, site["GWR1"])
    later = T0 + timedelta(hours=4)
    body = {
        "readings": [
            {"device": "GWR1-INV", "point": "pv_energy_wh", "ts": iso(later), "value": 17_000,
             "unit": "Wh"},
            {"device": "GWR1-INV", "point": "pv_energy_wh", "ts": iso(later - timedelta(
                minutes=30)), "value": 16_500, "unit": "Wh"},
        ]
    }  # fmt: skip
    r = client.post("/api/v1/ingest", json=body, headers=bearer(token))
    assert r.json()["accepted"] == 2, r.text
    assert _site_row(client, world, sid)[7] == "7.000"  # +1 kWh after 13:00
    assert _site_row(client, world, sid)[3] == ""  # no PV power in the last 15 minutes
    now = datetime.now(UTC).replace(microsecond=0)
    power = {"readings": [{"device": "GWR1-INV", "point": "pv_power_w", "ts": iso(now),
                           "value": 1234, "unit": "W"}]}  # fmt: skip
    assert client.post("/api/v1/ingest", json=power, headers=bearer(token)).status_code == 200
    assert _site_row(client, world, sid)[3] == "1234.0"
    r = client.put(
        f"/api/v1/sites/{sid}/statistical-range",
        json={"inverters": False, "meters": True},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    assert _site_row(client, world, sid)[7] == "0.000"
    client.put(
        f"/api/v1/sites/{sid}/statistical-range",
        json={"inverters": True, "meters": True},
        headers=h(world, "admin@I1"),
    )
    assert _site_row(client, world, sid)[7] == "7.000"


def test_the_catalogue_of_data_points(client: TestClient, world: World) -> None:
    r = client.get("/api/v1/telemetry/points", headers=h(world, "owner@I2"))
    assert r.status_code == 200, r.text
    points = {p["name"]: p for p in r.json()}
    assert points["pv_energy_wh"]["units"][:2] == ["Wh", "kWh"]
    assert points["pv_energy_wh"]["aggregate"] == "energy" and points["soc"]["high"] == 1.0
    assert client.get("/api/v1/telemetry/points").status_code == 401


def test_device_energy_bars_from_its_own_counters(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    """A device's bars hold only the counters it sent, whether or not it is in the site's
    statistics; a gateway without counters has empty bars."""
    inv, mtr, gw = site["GWR1-INV"], site["GWR1-MTR"], site["GWR1"]
    day = {"period": "day", "date": DAY.isoformat()}
    r = client.get(f"/api/v1/devices/{inv}/energy", params=day, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["name"] for p in body["points"]] == ["pv_energy_wh"]
    assert len(body["bars"]) == 24 and body["bars"][10]["label"] == "10:00"
    assert body["bars"][10]["energy_wh"] == {"pv_energy_wh": pytest.approx(2000)}
    assert body["total_wh"] == {"pv_energy_wh": pytest.approx(6000)}

    meter = client.get(
        f"/api/v1/devices/{mtr}/energy", params={**day, "period": "month"},
        headers=h(world, "om@I1"),
    ).json()  # fmt: skip
    assert [p["name"] for p in meter["points"]] == [
        "grid_import_energy_wh",
        "grid_export_energy_wh",
    ]
    assert len(meter["bars"]) == MONTH_DAYS
    assert meter["total_wh"] == {
        "grid_import_energy_wh": pytest.approx(1200),
        "grid_export_energy_wh": pytest.approx(2400),
    }
    empty = client.get(f"/api/v1/devices/{gw}/energy", params=day, headers=h(world, "om@I1"))
    assert empty.json()["points"] == [] and len(empty.json()["bars"]) == 24

    # Out of the site's statistics: the site's PV is gone, the inverter's own bars are not.
    client.put(
        f"/api/v1/sites/{site['site']}/statistical-range",
        json={"inverters": False, "meters": True},
        headers=h(world, "admin@I1"),
    )
    site_day = client.get(
        f"/api/v1/sites/{site['site']}/energy", params=day, headers=h(world, "admin@I1")
    ).json()
    assert site_day["total"]["pv_wh"] == 0
    total = client.get(
        f"/api/v1/devices/{inv}/energy", params={"period": "total"}, headers=h(world, "om@I1")
    ).json()
    assert total["bars"][0]["label"] == str(DAY.year)
    assert total["total_wh"]["pv_energy_wh"] == pytest.approx(6000)

    r = client.get(
        f"/api/v1/devices/{inv}/energy", params={**day, "format": "csv"}, headers=h(world, "om@I1")
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["bar", "start_time (UTC)", "end_time (UTC)", "pv_energy_kwh"]
    assert next(x for x in rows if x[0] == "10:00")[3] == "2.000"
    assert rows[-1][0] == "total" and rows[-1][3] == "6.000"
    for who in ("admin@I2", "owner@I2"):
        other = client.get(f"/api/v1/devices/{inv}/energy", headers=h(world, who))
        assert other.status_code == 404, (who, other.text)


def _month_revenue(client: TestClient, world: World) -> float:
    body = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I1")).json()
    mine = body["revenue_trend"][0]
    assert mine["currency"] == "EUR"
    assert [m["month"] for m in mine["months"]] == [t["month"] for t in body["trend"]]
    return float(next(m["revenue"] for m in mine["months"] if m["month"] == f"{DAY:%Y-%m}"))


def test_fleet_revenue_trend_by_month(
    client: TestClient, world: World, site: dict[str, str], runtime: Runtime
) -> None:
    """The revenue of each month of the trend: yield x the default price without tariffs, hour
    by hour at the tariffs once the site has them (the same figures as the revenue tiles)."""
    price = runtime.settings.default_price_per_kwh
    assert _month_revenue(client, world) == pytest.approx(6.0 * price)
    for direction, value in (("EXPORT", 0.08), ("IMPORT", 0.40)):
        r = client.put(
            f"/api/v1/sites/{site['site']}/tariffs/{direction}",
            json={"valid_from": f"{DAY.year - 1}-01-01", "kind": "fixed", "currency": "EUR",
                  "price_per_kwh": value},
            headers=h(world, "admin@I1"),
        )  # fmt: skip
        assert r.status_code in (200, 201), r.text
    assert _month_revenue(client, world) == pytest.approx(2.4 * 0.08 + 3.6 * 0.40)
    other = client.get("/api/v1/fleet/kpis", headers=h(world, "admin@I2")).json()
    assert all(m["revenue"] == 0 for t in other["revenue_trend"] for m in t["months"])


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("readings", {"points": "pv_power_w,nope"}, 400, "unknown data point 'nope'"),
        (
            "readings",
            {"start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-01T00:00:00Z"},
            400,
            "end_time must be after start_time",
        ),
        (
            "readings",
            {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-03-01T00:00:00Z"},
            400,
            "at most 31 days long for raw readings",
        ),
        ("readings", {"start_time": "2026-03-01T00:00:00"}, 400, "needs a UTC offset"),
        ("readings", {"start_time": "yesterday"}, 422, "start_time: Input should be a valid"),
        (
            "readings",
            {"start_time": "0001-01-01T00:00:00Z", "end_time": "0001-01-02T00:00:00Z"},
            400,
            "start_time is out of range",
        ),
        ("series", {"resolution": "10min"}, 422, "'5min', 'hour', 'day' or 'month'"),
        (
            "series",
            {
                "resolution": "5min",
                "start_time": "2026-01-01T00:00:00Z",
                "end_time": "2026-03-01T00:00:00Z",
            },
            400,
            "at most 31 days long for 5min roll-ups",
        ),
        ("series", {"points": "device_status"}, 400, "has no roll-ups"),
        ("energy", {"period": "week"}, 422, "'day', 'month', 'year' or 'total'"),
        ("energy", {"date": "10.06.2026"}, 400, "'10.06.2026' is not a date: use YYYY-MM-DD"),
        ("energy", {"date": "9999-12-31", "period": "year"}, 400, "9999-12-31 is out of range"),
        ("energy", {"date": "0001-01-01"}, 400, "0001-01-01 is out of range"),
        ("site-energy", {"date": "9999-12-31", "period": "year"}, 400, "is out of range"),
        ("site-energy", {"date": "0001-01-01"}, 400, "0001-01-01 is out of range"),
        ("site-energy", {"period": "week"}, 422, "'day', 'month', 'year' or 'total'"),
    ],
)
def test_bad_query_parameters_are_refused_clearly(
    client: TestClient,
    world: World,
    site: dict[str, str],
    path: str,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    """Every refusal says what was wrong in words a person reads (never a 500)."""
    url = (
        f"/api/v1/sites/{site['site']}/energy"
        if path == "site-energy"
        else f"/api/v1/devices/{site['GWR1-INV']}/{path}"
    )
    r = client.get(url, params=params, headers=h(world, "om@I1"))
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
