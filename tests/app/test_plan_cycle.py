"""Re-planning (app/commands/plan_cycle): a site's plan is made again when 15 minutes old or
when the measured state of charge drifts from the planned one, with the same request; the job is
registered when VOLTFLEET_BATTERY_PLAN_CYCLE_S is set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_battery_plan import site_with_tariff
from tests.app.test_live import ingest
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h, iso
from tests.support.world import World, build_world
from voltfleet.app.commands.plan_cycle import PLAN_CYCLE, PLAN_SITE, plan_cycle
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.domain.telemetry.readings import Reading
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import bind, platform_jobs
from voltfleet.store.plan_models import BatteryPlanRow
from voltfleet.store.timeseries import store_for


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def plans(runtime: Runtime, site_id: str) -> list[BatteryPlanRow]:
    with runtime.db.session() as s:
        rows = s.scalars(
            select(BatteryPlanRow)
            .where(BatteryPlanRow.site_id == site_id)
            .order_by(BatteryPlanRow.created_at)
        ).all()
        s.expunge_all()
        return list(rows)


def test_replanned_on_the_cycle_and_on_drift(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = site_with_tariff(client, world, "GWC1")
    now = datetime.now(UTC)
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={
            "capacity_kwh": 10,
            "soc_now": 0.1,
            "max_charge_w": 4000,
            "max_discharge_w": 4000,
            "start_time": iso(now),
        },
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    first = plans(runtime, ids["site"])[0]
    assert first.trigger == "request" and first.request["capacity_kwh"] == 10
    # 5 minutes on, nothing drifted: the plan stands
    assert plan_cycle(runtime.db, now + timedelta(minutes=5), runtime.planner) == 0
    # the battery reports a state of charge far from the plan's: re-planned from it
    with runtime.db.session() as s:
        store_for(s.connection()).write(
            [Reading(ids["GWC1-BAT"], "soc", now + timedelta(minutes=6), 0.8)]  # stored: 0..1
        )
    assert plan_cycle(runtime.db, now + timedelta(minutes=7), runtime.planner) == 1
    drift = plans(runtime, ids["site"])[-1]
    assert drift.trigger == "drift" and drift.steps["soc"][0] > 0.5
    assert drift.request == first.request
    # and after 15 minutes, again, from the same request
    assert plan_cycle(runtime.db, now + timedelta(minutes=23), runtime.planner) == 1
    assert [p.trigger for p in plans(runtime, ids["site"])] == ["request", "drift", "cycle"]
    # a site whose last requested plan is two days old is no longer planned
    assert plan_cycle(runtime.db, now + timedelta(days=2, minutes=1), runtime.planner) == 0


def test_a_state_of_charge_reported_in_percent_is_planned_from_as_a_fraction(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    """The battery reports "SoC 80 %" through the ingest API (which keeps a fraction, 0.8): the
    cycle re-plans from 0.8, and the plan page draws it as 80 %. Both read it as a percentage
    before: the plan started from 0.008 (an empty battery) and the chart drew 0.8 %."""
    ids, token = site_with_tariff(client, world, "GWC2")
    now = datetime.now(UTC).replace(microsecond=0)
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={"capacity_kwh": 10, "soc_now": 0.1, "max_charge_w": 4000, "max_discharge_w": 4000,
              "start_time": iso(now - timedelta(minutes=1))},
        headers=h(world, "om@I1"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    ingest(client, token, [("GWC2-BAT", "soc", 80, "%")], at=now - timedelta(seconds=5))

    assert plan_cycle(runtime.db, now + timedelta(seconds=5), runtime.planner) == 1
    drift = plans(runtime, ids["site"])[-1]
    assert drift.trigger == "drift"
    assert drift.steps["soc_init"] == pytest.approx(0.8)
    login(client, world.accounts["om@I1"].email)
    html = client.get(f"/site/{ids['site']}/battery-plan").text
    chart = json.loads(html.split('id="plan-forecast">', 1)[1].split("</script>", 1)[0])
    assert chart["soc_measured"][0] == pytest.approx(80.0)


def test_the_cycle_is_a_job_by_default_and_off_at_zero(runtime: Runtime) -> None:
    assert runtime.settings.battery_plan_cycle_s == 900  # every 15 minutes unless told otherwise
    assert PLAN_CYCLE in platform_jobs(runtime.db, runtime.settings)
    off = runtime.settings.model_copy(update={"battery_plan_cycle_s": 0})
    assert PLAN_CYCLE not in platform_jobs(runtime.db, off)


def test_the_cycle_fans_out_one_job_per_site_over_the_jobs_adapter(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    now = datetime.now(UTC)
    sites = []
    for gw in ("GWF1", "GWF2"):
        ids, _ = site_with_tariff(client, world, gw)
        r = client.post(
            f"/api/v1/sites/{ids['site']}/battery-plan",
            json={
                "capacity_kwh": 10,
                "soc_now": 0.5,
                "max_charge_w": 4000,
                "max_discharge_w": 4000,
                "start_time": iso(now),
            },
            headers=h(world, "om@I1"),
        )
        assert r.status_code == 201, r.text
        sites.append(ids["site"])
    on = runtime.settings.model_copy(update={"battery_plan_cycle_s": 300})
    registry = platform_jobs(runtime.db, on)
    clock = ManualClock(now + timedelta(minutes=20))
    jobs = bind(registry, InProcessJobs(registry, clock))
    cycle = registry.get(PLAN_CYCLE).run
    assert cycle(clock.now()) == 2  # deferred, not planned here
    assert cycle(clock.now()) == 2  # a second cycle before they ran: still one job per site
    assert jobs.pending() == 2
    assert [p.trigger for s in sites for p in plans(runtime, s)] == ["request"] * 2
    assert sorted(jobs.run_due()) == [PLAN_SITE, PLAN_SITE]
    for site in sites:  # 20 minutes old: each re-planned by its own job
        assert [p.trigger for p in plans(runtime, site)] == ["request", "cycle"]
