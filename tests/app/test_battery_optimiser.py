"""The optimiser behind POST battery-plan: the plan's steps with forecasts and prices, its
cost against no battery and plain self-consumption, the plan kept, and the fallback with its
reason when the solver fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_battery_plan import evening_start, site_with_tariff
from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, h, iso
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.domain.optimisation.plan import BatteryPlan, SolverFailed
from voltfleet.domain.optimisation.problem import PlanProblem
from voltfleet.store.plan_models import BatteryPlanRow


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


BODY = {"capacity_kwh": 10, "soc_now": 0.1, "max_charge_w": 4000, "max_discharge_w": 4000}


def test_the_plan_is_optimised_kept_and_cheaper_than_the_baselines(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = site_with_tariff(client, world, "GWO1")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={**BODY, "hours": 48, "start_time": iso(start), "export_limit_w": 0},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["method"] == "highs-lp" and plan["fallback_reason"] is None
    assert len(plan["steps"]) == 192
    assert plan["load_source"] == "standard profile H25, 4000 kWh/a"
    assert plan["pv_source"] == "none"  # the site has no place or array
    assert plan["expected_cost"] < min(plan["cost_self_consumption"], plan["cost_no_battery"])
    for s in plan["steps"]:
        assert 0.05 - 1e-6 <= s["soc"] <= 0.95 + 1e-6
        assert s["grid_power_w"] >= -1e-6  # zero export
        assert s["pv_w"] + s["grid_power_w"] == pytest.approx(
            s["load_w"] + s["battery_power_w"], abs=1e-3
        )
    with runtime.db.session() as s:
        row = s.scalar(select(BatteryPlanRow).where(BatteryPlanRow.id == plan["plan_id"]))
        assert row is not None and row.site_id == ids["site"] and len(row.steps["soc"]) == 192


class Broken:
    def solve(self, problem: PlanProblem, *, time_limit_s: float) -> BatteryPlan:
        raise SolverFailed("HiGHS: Time limit reached")

    def solve_many(
        self, problems: object, *, time_limit_s: float
    ) -> list[BatteryPlan | SolverFailed]:
        raise SolverFailed("HiGHS: Time limit reached")


def test_a_failed_solver_leaves_self_consumption_with_the_reason(
    client: TestClient, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, _ = site_with_tariff(client, world, "GWO2")
    monkeypatch.setattr(runtime.planner, "solver", Broken())
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan", json=BODY, headers=h(world, "om@I1")
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["method"] == "self_consumption"
    assert plan["fallback_reason"] == "HiGHS: Time limit reached"
    assert [i["mode"] for i in plan["intervals"]] == ["self_consumption"]
    assert [c["params"] for c in plan["commands"]] == [{"mode": "self_consumption"}]


def test_the_plan_page_shows_costs_forecasts_and_the_fallback(
    client: TestClient, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, _ = site_with_tariff(client, world, "GWO3")
    email = next(a.email for k, a in world.accounts.items() if k == "om@I1")
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan", json=BODY, headers=h(world, "om@I1")
    )
    assert r.status_code == 201
    plan = r.json()
    login(client, email)
    frag = client.get(f"/site/{ids['site']}/battery-plan").text
    assert 'id="plan-costs"' in frag and 'id="plan-forecast"' in frag
    assert f"{plan['expected_cost']:.2f}" in frag and f"{plan['cost_no_battery']:.2f}" in frag
    assert "standard profile H25" in frag and "optimised (highs-lp)" in frag
    assert 'id="plan-fallback"' not in frag
    monkeypatch.setattr(runtime.planner, "solver", Broken())
    client.post(f"/api/v1/sites/{ids['site']}/battery-plan", json=BODY, headers=h(world, "om@I1"))
    frag = client.get(f"/site/{ids['site']}/battery-plan").text
    assert 'id="plan-fallback"' in frag and "HiGHS: Time limit reached" in frag


def test_follow_home_turns_serving_the_home_into_self_consumption(
    client: TestClient, world: World
) -> None:
    ids, _ = site_with_tariff(client, world, "GWO4")
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={**BODY, "follow_home": True, "start_time": iso(evening_start())},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    modes = {i["mode"] for i in r.json()["intervals"]}
    # charging at night from the grid stays a setpoint; covering the home does not
    assert "charge" in modes and "self_consumption" in modes and "discharge" not in modes


def test_the_plan_page_shows_the_stored_energy_ledger_from_telemetry(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = site_with_tariff(client, world, "GWO5")
    now = datetime.now(UTC)
    # two hours ago the battery charged 2 kW for an hour (no PV: from the grid), an hour ago
    # it discharged 1.8 kW into a 2 kW load
    readings = []
    for minute in range(0, 120, 5):
        ts = now - timedelta(minutes=120 - minute)
        charging = minute < 60
        readings += [
            {
                "device": "GWO5-BAT",
                "point": "battery_power_w",
                "ts": iso(ts),
                "value": 2000 if charging else -1800,
                "unit": "W",
            },
            {
                "device": "GWO5-MTR",
                "point": "load_power_w",
                "ts": iso(ts),
                "value": 2000,
                "unit": "W",
            },
        ]
    # a plan made before it all: its load forecast is measured against the 2 kW that came
    start = (now - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={**BODY, "start_time": iso(start)},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    with runtime.db.session() as s:  # as if made three hours ago
        row = s.get(BatteryPlanRow, r.json()["plan_id"])
        assert row is not None
        row.created_at = start
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["accepted"] == len(readings), r.text
    login(client, next(a.email for k, a in world.accounts.items() if k == "om@I1"))
    frag = client.get(f"/site/{ids['site']}/battery-plan").text
    assert 'id="battery-ledger"' in frag and "Losses" in frag and "Savings from the battery" in frag
    errors = frag.split('id="forecast-errors"')[1].split("</table>")[0]
    # the two hours of measured load against the plan's standard-profile forecast, per day
    berlin = ZoneInfo("Europe/Berlin")  # the site's zone: days are local
    days = {(now - timedelta(minutes=m)).astimezone(berlin).date().isoformat() for m in (5, 115)}
    assert any(d in errors for d in days)
