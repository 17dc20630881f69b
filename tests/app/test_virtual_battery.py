"""Virtual batteries (issue 17) through the API, on SQLite and PostgreSQL: a utility partner
configures one over its customer's house meter, the ledger is back-filled from stored readings,
follows ingest (late readings, a counter restart) through the settle job, and the customer
reads it like a meter (readings, energy and savings, live, CSV, MSCONS). Other tenants get 404;
organisations that are not utilities may not offer one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import PASSWORD, World, build_world
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.clock import ManualClock
from voltfleet.domain.access import OrgType
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import all_jobs
from voltfleet.jobs.virtual_battery import SETTLE, settle
from voltfleet.protocols.edifact import mig, mscons
from voltfleet.store.models import AuditEntry, Site
from voltfleet.store.virtual_battery_models import VirtualBattery, VirtualBatteryInterval

BERLIN = ZoneInfo("Europe/Berlin")
DAY0 = datetime.now(UTC).astimezone(BERLIN).date() - timedelta(days=4)
DAY1 = DAY0 + timedelta(days=1)
STEP = timedelta(minutes=5)
EXPORT_WH = 200.0  # per 5 minutes, 10:00-14:00 local: 9.6 kWh a day
IMPORT_WH = 150.0  # per 5 minutes, 18:00-22:00 local: 7.2 kWh a day


def midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=BERLIN).astimezone(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def counters(
    day: date, start_imp: float, start_exp: float, meter: str
) -> tuple[list[dict], float, float]:
    """5-minute counter readings of a day (the sun at noon, the evening draws), from local
    midnight to the next (inclusive)."""
    out = []
    imp, exp = start_imp, start_exp
    t, end = midnight(day), midnight(day + timedelta(days=1))
    while t <= end:
        if t > midnight(day):
            prev = (t - STEP).astimezone(BERLIN)
            if 10 <= prev.hour < 14:
                exp += EXPORT_WH
            if 18 <= prev.hour < 22:
                imp += IMPORT_WH
        for point, value in (("grid_import_energy_wh", imp), ("grid_export_energy_wh", exp)):
            out.append(
                {"device": meter, "point": point, "ts": iso(t), "value": value, "unit": "Wh"}
            )
        t += STEP
    return out, imp, exp


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


class Utility:
    """A utility "U" under the platform with an administrator, and two customers (owners) each
    with a home: a gateway and a house meter."""

    def __init__(self, client: TestClient, runtime: Runtime, world: World) -> None:
        self.client, self.runtime, self.world = client, runtime, world
        with runtime.db.session() as s:
            org = build_org(world.orgs["P"], "Stadtwerke Sonnental", OrgType.UTILITY, "DE")
            s.add(org)
            s.flush()
            world.orgs["U"] = org
            for role, email in (
                ("admin", "admin.u@example.com"),
                ("owner", "anna@example.com"),
                ("owner", "bert@example.com"),
            ):
                u = new_user(
                    s,
                    runtime,
                    email=email,
                    username=email,
                    password=PASSWORD,
                    org_id=org.id,
                    role=role,
                )
                key = f"{role}@U" if email != "bert@example.com" else "bert@U"
                from tests.support.world import Account

                world.accounts[key] = Account(u.id, email, role, "U")
                world.accounts[key].token = runtime.security.issue_token(
                    u.id, u.password_changed_at, now=runtime.clock.now()
                )
        self.anna = self.home("owner@U", "VBA")
        self.bert = self.home("bert@U", "VBB")

    def home(self, customer: str, gw: str) -> dict[str, str]:
        c, w = self.client, self.world
        r = c.post(
            "/api/v1/sites",
            json={"name": f"Home {gw}", "timezone": "Europe/Berlin", "gateway": {"serial": gw}},
            headers=h(w, "admin@U"),
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        r = c.post(
            f"/api/v1/sites/{sid}/devices",
            json={"kind": "meter", "serial": f"{gw}-MTR", "parent_serial": gw},
            headers=h(w, "admin@U"),
        )
        assert r.status_code == 201, r.text
        ids = {
            d["serial"]: d["id"]
            for d in c.get(
                "/api/v1/devices", params={"site_id": sid}, headers=h(w, "admin@U")
            ).json()["items"]
        }
        with self.runtime.db.session() as s:
            s.get(Site, sid).owner_id = w.accounts[customer].id
        r = c.post(f"/api/v1/devices/{ids[gw]}/token", headers=h(w, "admin@U"))
        assert r.status_code == 201, r.text
        return {"site": sid, "meter": ids[f"{gw}-MTR"], "gw": gw, "token": r.json()["token"]}

    def ingest(self, home: dict[str, str], readings: list[dict]) -> None:
        r = self.client.post(
            "/api/v1/ingest",
            json={"readings": readings},
            headers={"Authorization": f"Bearer {home['token']}"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["quarantined"] == 0, r.text

    def create(self, home: dict[str, str], capacity_kwh: float, start: date, **kw: object):
        body = {
            "name": "Sonnenspeicher",
            "customer_id": self.world.accounts["owner@U"].id,
            "meter_id": home["meter"],
            "capacity_kwh": capacity_kwh,
            "start_date": start.isoformat(),
            **kw,
        }
        return self.client.post(
            "/api/v1/virtual-batteries", json=body, headers=h(self.world, "admin@U")
        )


def day_of(client: TestClient, world: World, bid: str, day: date, who: str = "owner@U") -> dict:
    r = client.get(
        f"/api/v1/virtual-batteries/{bid}/energy",
        params={"period": "day", "date": day.isoformat()},
        headers=h(world, who),
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_partner_offers_a_battery_that_is_backfilled_and_the_customer_reads_it(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    u = Utility(client, runtime, world)
    readings, _, _ = counters(DAY0, 1000.0, 5000.0, f"{u.anna['gw']}-MTR")
    u.ingest(u.anna, readings)
    r = u.create(u.anna, 5, DAY0)  # the start lies in the past: back-filled
    assert r.status_code == 201, r.text
    bid = r.json()["id"]
    day = day_of(client, world, bid, DAY0)
    # 9.6 kWh exported at noon into 5 kWh: 5 charged, 4.6 spilled; 7.2 kWh drawn in the
    # evening: 5 from the battery, 2.2 from the grid
    assert day["charged_kwh"] == pytest.approx(5.0)
    assert day["discharged_kwh"] == pytest.approx(5.0)
    assert sum(b["spilled_kwh"] for b in day["buckets"]) == pytest.approx(4.6)
    assert sum(b["grid_import_kwh"] for b in day["buckets"]) == pytest.approx(2.2)
    assert day["saved_value"] is None and "tariff" in day["saved_value_note"]
    noon = [b for b in day["buckets"] if b["level_kwh"] == pytest.approx(5.0)]
    # full at 12:05 (25 five-minute steps of 200 Wh from 10:00)
    assert noon and datetime.fromisoformat(noon[0]["start"]).astimezone(BERLIN).hour == 12

    # The customer sees it (as a meter in their account), with its level; a PATCH is not theirs
    mine = client.get("/api/v1/virtual-batteries", headers=h(world, "owner@U")).json()
    assert [b["id"] for b in mine] == [bid] and mine[0]["level_percent"] is not None
    assert (
        client.patch(
            f"/api/v1/virtual-batteries/{bid}", json={"name": "x"}, headers=h(world, "owner@U")
        ).status_code
        == 403
    )
    # other tenants: not there at all
    for who in ("bert@U", "admin@I1", "owner@I1", "om@D2"):
        assert (
            client.get(f"/api/v1/virtual-batteries/{bid}", headers=h(world, who)).status_code == 404
        )
        listed = client.get("/api/v1/virtual-batteries", headers=h(world, who)).json()
        assert bid not in [b["id"] for b in listed]
    assert (
        client.get(f"/api/v1/virtual-batteries/{bid}", headers=h(world, "super")).status_code == 200
    )

    # Savings at the site's import tariff: 5 kWh at 0.30
    r = client.put(
        f"/api/v1/sites/{u.anna['site']}/tariffs/IMPORT",
        json={"valid_from": "2020-01-01", "kind": "fixed", "currency": "EUR", "price_per_kwh": 0.3},
        headers=h(world, "admin@U"),
    )
    assert r.status_code in (200, 201), r.text
    day = day_of(client, world, bid, DAY0)
    assert day["saved_import_kwh"] == pytest.approx(5.0)
    assert day["saved_value"] == pytest.approx(1.5) and day["currency"] == "EUR"

    # Readings per quarter hour, as JSON and CSV; per day as CSV
    window = {"start_time": iso(midnight(DAY0)), "end_time": iso(midnight(DAY1))}
    rows = client.get(
        f"/api/v1/virtual-batteries/{bid}/readings", params=window, headers=h(world, "owner@U")
    ).json()
    n = int((midnight(DAY1) - midnight(DAY0)).total_seconds() // 900)
    assert len(rows) == n and max(r["level_wh"] for r in rows) == pytest.approx(5000)
    csv_text = client.get(
        f"/api/v1/virtual-batteries/{bid}/readings",
        params={**window, "format": "csv"},
        headers=h(world, "admin@U"),
    ).text
    assert csv_text.splitlines()[0].startswith("start (UTC),import_kwh,export_kwh,level_kwh")
    assert len(csv_text.splitlines()) == n + 1
    days = client.get(
        f"/api/v1/virtual-batteries/{bid}/days.csv", params=window, headers=h(world, "owner@U")
    ).text.splitlines()
    assert days[1].split(",")[:4] == [DAY0.isoformat(), "0.000", "5.000", "5.000"]

    # Editing the capacity recomputes the whole ledger; edits and the deletion are audited
    r = client.patch(
        f"/api/v1/virtual-batteries/{bid}", json={"capacity_kwh": 0}, headers=h(world, "admin@U")
    )
    assert r.status_code == 200, r.text
    day = day_of(client, world, bid, DAY0, who="admin@U")
    assert day["charged_kwh"] == pytest.approx(9.6) and day["discharged_kwh"] == pytest.approx(7.2)
    assert r.json()["level_percent"] is None and r.json()["level_kwh"] == pytest.approx(2.4)
    # a start moved later leaves no interval before it
    r = client.patch(f"/api/v1/virtual-batteries/{bid}", json={"start_date": DAY1.isoformat()},
                     headers=h(world, "admin@U"))  # fmt: skip
    assert r.status_code == 200, r.text
    before = client.get(f"/api/v1/virtual-batteries/{bid}/readings", params=window,
                        headers=h(world, "admin@U")).json()  # fmt: skip
    assert before == []
    assert (
        client.delete(f"/api/v1/virtual-batteries/{bid}", headers=h(world, "admin@U")).status_code
        == 204
    )
    with runtime.db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == bid)))
        assert actions == [
            "virtual_battery.created",
            "virtual_battery.updated",
            "virtual_battery.updated",
            "virtual_battery.deleted",
        ]
        assert (
            s.scalar(select(VirtualBatteryInterval).where(VirtualBatteryInterval.battery_id == bid))
            is None
        )


def test_a_meter_without_both_flows_and_an_organisation_that_is_no_utility_are_refused(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    u = Utility(client, runtime, world)
    readings, _, _ = counters(DAY0, 0.0, 0.0, f"{u.anna['gw']}-MTR")
    u.ingest(u.anna, [r for r in readings if r["point"] == "grid_import_energy_wh"])
    r = u.create(u.anna, 5, DAY0)
    assert r.status_code == 422
    assert "no export energy (grid_export_energy_wh)" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "meter_id"
    # Bert's meter is not Anna's
    r = u.create(u.bert, 5, DAY0)
    assert r.status_code == 422 and "not a meter on a site of this customer" in r.json()["detail"]
    # An installer's administrator may not offer virtual batteries
    body = {
        "name": "x",
        "customer_id": world.accounts["owner@I1"].id,
        "meter_id": u.anna["meter"],
        "capacity_kwh": 1,
        "start_date": DAY0.isoformat(),
    }
    r = client.post("/api/v1/virtual-batteries", json=body, headers=h(world, "admin@I1"))
    assert r.status_code == 403 and "utility" in r.json()["detail"]
    r = client.post("/api/v1/virtual-batteries", json=body, headers=h(world, "owner@U"))
    assert r.status_code == 403


def test_the_ledger_follows_ingest_late_readings_and_a_counter_restart(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    u = Utility(client, runtime, world)
    meter = f"{u.anna['gw']}-MTR"
    day0, imp, exp = counters(DAY0, 1000.0, 5000.0, meter)
    u.ingest(u.anna, day0)
    bid = u.create(u.anna, 0, DAY0).json()["id"]  # unlimited
    with runtime.db.session() as s:  # back-filled up to now: nothing left to do
        assert s.get(VirtualBattery, bid).dirty_from is None

    # Day 1: the export counter is replaced at 09:00 (the new one starts at 0, recorded by O&M
    # before its readings arrive); the readings of 12:00-13:00 come late.
    swap = datetime(DAY1.year, DAY1.month, DAY1.day, 9, tzinfo=BERLIN).astimezone(UTC)
    r = client.post(
        f"/api/v1/devices/{u.anna['meter']}/counter-restarts",
        json={"point": "grid_export_energy_wh", "at": iso(swap), "reason": "new meter"},
        headers=h(world, "admin@U"),
    )
    assert r.status_code == 201, r.text
    with runtime.db.session() as s:  # recording it marks the ledger from an hour before it
        assert s.get(VirtualBattery, bid).dirty_from == swap - timedelta(hours=1)
    day1, _, _ = counters(DAY1, imp, exp, meter)
    for x in day1:
        if (
            x["point"] == "grid_export_energy_wh"
            and datetime.fromisoformat(x["ts"].replace("Z", "+00:00")) >= swap
        ):
            x["value"] -= exp  # the new counter counts from zero
    noon_local = [
        x
        for x in day1
        if 12 <= datetime.fromisoformat(x["ts"].replace("Z", "+00:00")).astimezone(BERLIN).hour < 13
    ]
    on_time = [x for x in day1 if x not in noon_local]
    u.ingest(u.anna, on_time)
    with runtime.db.session() as s:
        mark = s.get(VirtualBattery, bid).dirty_from
    assert mark is not None and mark <= midnight(DAY1)  # marked from the day's first reading on
    clock = ManualClock(datetime.now(UTC))
    assert settle(runtime.db, clock.now()) == 1
    u.ingest(u.anna, noon_local)  # the late hour
    with runtime.db.session() as s:
        mark = s.get(VirtualBattery, bid).dirty_from
    assert mark is not None and mark.astimezone(BERLIN).hour == 11  # an hour before it, not earlier
    jobs = InProcessJobs(all_jobs(runtime.db, runtime.settings), clock)
    clock.advance(timedelta(seconds=61))
    assert SETTLE in jobs.run_due()
    day = day_of(client, world, bid, DAY1)
    # the restart is respected: day 1 exported 9.6 kWh, like day 0
    assert day["charged_kwh"] == pytest.approx(9.6)
    assert day["discharged_kwh"] == pytest.approx(7.2)
    # Incremental equals from scratch: a second battery over the same meter, created now
    again = u.create(u.anna, 0, DAY0).json()["id"]
    window = {
        "start_time": iso(midnight(DAY0)),
        "end_time": iso(midnight(DAY1 + timedelta(days=1))),
    }
    a = client.get(
        f"/api/v1/virtual-batteries/{bid}/readings", params=window, headers=h(world, "admin@U")
    ).json()
    b = client.get(
        f"/api/v1/virtual-batteries/{again}/readings", params=window, headers=h(world, "admin@U")
    ).json()
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert x["level_wh"] == pytest.approx(y["level_wh"]) and x["charged_wh"] == pytest.approx(
            y["charged_wh"]
        )
    assert a[-1]["level_wh"] == pytest.approx(2 * 2400)


def test_mscons_of_a_day_parses_back_into_the_ledger(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    u = Utility(client, runtime, world)
    readings, _, _ = counters(DAY0, 0.0, 0.0, f"{u.anna['gw']}-MTR")
    u.ingest(u.anna, readings)
    bid = u.create(u.anna, 5, DAY0).json()["id"]
    params = {"kind": "load_profile", "date": DAY0.isoformat()}
    r = client.get(
        f"/api/v1/virtual-batteries/{bid}/mscons", params=params, headers=h(world, "owner@U")
    )
    assert r.status_code == 409 and r.json()["code"] == "no_market_partner"
    org = world.orgs["U"].id
    r = client.put(
        f"/api/v1/orgs/{org}/market-partner",
        headers=h(world, "admin@U"),
        json={"sender_id": "9900000000001", "receiver_id": "9900000000002"},
    )
    assert r.status_code == 200, r.text
    assert (
        client.put(
            f"/api/v1/orgs/{org}/market-partner",
            headers=h(world, "owner@U"),
            json={"sender_id": "1", "receiver_id": "2"},
        ).status_code
        == 403
    )
    r = client.get(
        f"/api/v1/virtual-batteries/{bid}/mscons", params=params, headers=h(world, "owner@U")
    )
    assert r.status_code == 200, r.text
    name = r.headers["content-disposition"]
    assert f"MSCONS_TL_9900000000001_9900000000002_{DAY0:%Y%m%d}_" in name
    got = mscons.parse(r.content.decode("iso-8859-1"))
    assert mig.check(got.structure) == []
    assert got.unt_count == got.segments_in_message
    n = int((midnight(DAY1) - midnight(DAY0)).total_seconds() // 900)
    assert len(got.lines["1-1:1.29.0"]) == len(got.lines["1-1:2.29.0"]) == n
    assert float(sum(v.kwh for v in got.lines["1-1:1.29.0"])) == pytest.approx(5.0)
    assert float(sum(v.kwh for v in got.lines["1-1:2.29.0"])) == pytest.approx(5.0)
    r = client.get(
        f"/api/v1/virtual-batteries/{bid}/mscons",
        params={"kind": "readings", "date": DAY0.isoformat()},
        headers=h(world, "admin@U"),
    )
    level = mscons.parse(r.text).lines["1-1:1.8.0"]
    assert level[0].at == midnight(DAY1) and float(level[0].kwh) == pytest.approx(0.0)
    # the nightly export writes yesterday's files
    from voltfleet.jobs.virtual_battery import export

    files = export(runtime.db, runtime.settings.data_dir, midnight(DAY1) + timedelta(hours=2))
    assert files == 4


# Every virtual-battery route, with the action POLICY names for it; listed in the matrix of
# tests/app/test_authz_matrix.py as checked here (its world has no utility organisation).
ROUTES = [
    ("GET", "/api/v1/virtual-batteries", "list"),
    ("POST", "/api/v1/virtual-batteries", "create"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}", "read"),
    ("PATCH", "/api/v1/virtual-batteries/{battery_id}", "update"),
    ("DELETE", "/api/v1/virtual-batteries/{battery_id}", "delete"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/readings", "read"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/days.csv", "read"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/energy", "read"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/live", "read"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/live/now", "read"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/mscons", "read"),
    ("GET", "/api/v1/orgs/{org_id}/market-partner", "read"),
    ("PUT", "/api/v1/orgs/{org_id}/market-partner", "update"),
]
CALLERS = ("super", "admin@U", "owner@U", "bert@U", "admin@I1", "om@D1", "owner@I1", "admin@D2")


def test_authorisation_of_every_virtual_battery_route(
    client: TestClient, runtime: Runtime, world: World, app, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An oracle written here: the battery exists for the platform's superuser, the utility's
    staff and its customer, for nobody else (404); the customer only reads (403); creating one
    takes a utility (403 for an installer's administrator). Every route is tried."""
    documented = {
        (m.upper(), p)
        for p, ops in app.openapi()["paths"].items()
        if "virtual-batteries" in p or "market-partner" in p
        for m in ops
    }
    assert documented == {(m, p) for m, p, _ in ROUTES}
    u = Utility(client, runtime, world)
    readings, _, _ = counters(DAY0, 0.0, 0.0, f"{u.anna['gw']}-MTR")
    u.ingest(u.anna, readings)
    client.put(
        f"/api/v1/orgs/{world.orgs['U'].id}/market-partner",
        headers=h(world, "admin@U"),
        json={"sender_id": "9900000000001", "receiver_id": "9900000000002"},
    )
    staff = {"super", "admin@U"}
    failures = []
    monkeypatch.setattr(runtime.settings, "live_max_s", 0.0)  # one event per stream
    standing = u.create(u.anna, 5, DAY0).json()["id"]
    for who in CALLERS:
        for method, path, action in ROUTES:
            # a fresh one for DELETE, which may take it
            bid = u.create(u.anna, 5, DAY1).json()["id"] if method == "DELETE" else standing
            url = path.replace("{battery_id}", bid).replace("{org_id}", world.orgs["U"].id)
            params: dict[str, str] = {}
            body: object = None
            if path.endswith(("readings", "days.csv")):
                params = {"start_time": iso(midnight(DAY0)), "end_time": iso(midnight(DAY1))}
            elif path.endswith("energy"):
                params = {"period": "day", "date": DAY0.isoformat()}
            elif path.endswith("mscons"):
                params = {"kind": "readings", "date": DAY0.isoformat()}
            if method == "PATCH":
                body = {"name": "renamed"}
            elif method == "PUT":
                body = {"sender_id": "9900000000001", "receiver_id": "9900000000002"}
            elif method == "POST":
                body = {
                    "name": "n",
                    "customer_id": world.accounts["owner@U"].id,
                    "meter_id": u.anna["meter"],
                    "capacity_kwh": 1,
                    "start_date": DAY0.isoformat(),
                }
            r = client.request(method, url, params=params, json=body, headers=h(world, who))
            customer = who == "owner@U"
            if action == "list":
                want = "2xx"
                seen = {b["id"] for b in r.json()} if r.status_code == 200 else set()
                if (bid in seen) != (who in staff or customer):
                    failures.append(f"{who} list: sees it = {bid in seen}")
            elif action == "create":
                want = "2xx" if who in staff else "403"
            elif "market-partner" in path:  # the utility itself: its staff and its customers
                if who not in (*staff, "owner@U", "bert@U"):
                    want = "404"
                else:
                    want = "2xx" if action == "read" or who in staff else "403"
            elif who in staff:
                want = "2xx"
            elif customer:
                want = "2xx" if action == "read" else "403"
            else:
                want = "404"
            got = "2xx" if 200 <= r.status_code < 300 else str(r.status_code)
            if got != want:
                failures.append(
                    f"{who} {method} {path}: want {want}, got {r.status_code} {r.text[:80]}"
                )
    assert not failures, "\n".join(failures)


def test_live_power_follows_the_meter_as_far_as_the_battery_takes_it(
    client: TestClient, runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    u = Utility(client, runtime, world)
    meter = f"{u.anna['gw']}-MTR"
    readings, _, _ = counters(DAY0, 0.0, 0.0, meter)
    u.ingest(u.anna, readings)
    bid = u.create(u.anna, 5, DAY0).json()["id"]  # empty after the evening
    now = datetime.now(UTC).replace(microsecond=0)

    def power(grid_w: float, at: datetime) -> dict:
        reading = {"device": meter, "point": "grid_power_w", "ts": iso(at), "value": grid_w,
                   "unit": "W"}  # fmt: skip
        u.ingest(u.anna, [reading])
        r = client.get(f"/api/v1/virtual-batteries/{bid}/live/now", headers=h(world, "owner@U"))
        assert r.status_code == 200, r.text
        return r.json()

    assert power(-1500, now - timedelta(seconds=60))["power_w"] == 1500  # exporting: charging
    assert power(800, now - timedelta(seconds=30))["power_w"] == 0  # empty: the grid serves it
    # the stream, like a device's: an event at once, its data the snapshot
    monkeypatch.setattr(runtime.settings, "live_max_s", 0.0)
    r = client.get(f"/api/v1/virtual-batteries/{bid}/live", headers=h(world, "owner@U"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "event: live" in r.text and '"power_w":0.0' in r.text
    r = client.get(f"/api/v1/virtual-batteries/{bid}/live", headers=h(world, "bert@U"))
    assert r.status_code == 404
