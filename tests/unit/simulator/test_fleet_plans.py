"""A planned home in a run that back-fills history: its battery follows the plan commands it
acknowledged back then (``followed_plan``), and it asks for its next day plan only once it has
caught up with the clock, from the battery's state of charge then (not the history's start).

The platform is an in-memory stand-in for the client's calls, so the run is fast and its
sequence of calls can be checked."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from voltfleet.simulator.client import HomeAccount, Stats
from voltfleet.simulator.fleet import FleetConfig, followed_plan, run_fleet
from voltfleet.simulator.model import BatterySpec, Command, Mode

BATTERY = BatterySpec(10_000.0, 5_000.0, 5_000.0)


def command(state: str, start: datetime, minutes: float, params: dict[str, Any]) -> dict[str, Any]:
    """A plan command as ``GET /api/v1/sites/{id}/battery-plan`` lists it."""
    return {
        "kind": "battery_mode",
        "params": params,
        "state": state,
        "not_before": start.isoformat(),
        "expires_at": (start + timedelta(minutes=minutes)).isoformat(),
    }


def test_followed_plan_keeps_what_the_battery_acknowledged_from_the_start_on() -> None:
    t = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    charge = {"mode": "charge", "battery_power_w": 9e3}
    got = followed_plan(
        [
            command("acknowledged", t + timedelta(hours=2), 60, {"mode": "discharge"}),
            command("acknowledged", t - timedelta(hours=2), 60, {"mode": "idle"}),  # before
            command("acknowledged", t - timedelta(minutes=30), 90, charge),
            command("acknowledged", t + timedelta(hours=1), 30, {"mode": "idle"}),
            command("expired", t + timedelta(hours=3), 60, {"mode": "idle"}),
            command("failed", t + timedelta(hours=3), 60, {"mode": "idle"}),
        ],
        BATTERY,
        "BAT",
        t,
    )
    assert got == [
        (t, Command(Mode.SETPOINT, 5_000.0)),  # in force at the start; clipped to the limit
        (t + timedelta(hours=1), Command(Mode.IDLE)),  # right after it
        # it ran out with nothing after it: self-consumption, as between a plan's intervals
        (t + timedelta(minutes=90), Command(Mode.SELF_CONSUMPTION)),
        (t + timedelta(hours=2), Command(Mode.SETPOINT, -5_000.0)),
        (t + timedelta(hours=3), Command(Mode.SELF_CONSUMPTION)),  # the expired one: not done
    ]


class Platform:
    """The calls ``run_fleet`` makes, answered in memory for one new home: what was sent, in
    order, and when the day plan was asked for."""

    def __init__(self, history: list[dict[str, Any]]) -> None:
        self.stats = Stats()
        self.history = history
        self.readings: list[dict[str, Any]] = []
        self.plans: list[tuple[int, dict[str, Any]]] = []  # (readings sent by then, body)

    async def sign_in(self, email: str, password: str) -> None:
        return None

    async def find_home(self, index: int, tag: str, **_: Any) -> None:
        return None

    async def create_home(self, index: int, tag: str, **_: Any) -> HomeAccount:
        return HomeAccount(index, "site", "GW", "INV", "BAT", "MTR", {}, "vfg_x")

    async def send(self, acc: HomeAccount, batch: list[dict[str, Any]], alarms: Any) -> None:
        self.readings += batch

    async def poll_commands(self, acc: HomeAccount) -> list[dict[str, Any]]:
        return []

    async def request_plan(self, acc: HomeAccount, body: dict[str, Any]) -> dict[str, Any]:
        self.plans.append((len(self.readings), body))
        return {"commands": []}

    async def plan_commands(
        self, acc: HomeAccount, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        return [c for c in self.history if start <= datetime.fromisoformat(c["not_before"]) < end]


def powers(readings: list[dict[str, Any]], point: str) -> dict[datetime, float]:
    return {
        datetime.fromisoformat(r["ts"]): float(r["value"]) for r in readings if r["point"] == point
    }


@pytest.mark.asyncio
async def test_a_planned_home_follows_its_history_then_plans_from_its_state_now() -> None:
    now = datetime.now(UTC)
    start = datetime.fromtimestamp(
        math.floor((now - timedelta(hours=3)).timestamp() / 60) * 60, UTC
    )
    charge_at, idle_at = start + timedelta(minutes=30), start + timedelta(minutes=90)
    platform = Platform(
        [
            command("acknowledged", charge_at, 60, {"mode": "charge", "battery_power_w": 800.0}),
            command("acknowledged", idle_at, 30, {"mode": "idle"}),
            command("expired", start + timedelta(minutes=150), 20, {"mode": "discharge"}),
        ]
    )
    backfill_until = now - timedelta(minutes=20)
    config = FleetConfig(
        sites=1,
        speed=math.inf,
        hours=3.0,
        start=start,
        backfill_until=backfill_until,
        seed=5,
        tag="PLAN",
        plan_homes=(0,),
        command_poll_s=0.0,
        wall_limit_s=60.0,
    )
    report = await run_fleet("http://unused", "e", "p", config, client=platform)  # type: ignore[arg-type]
    assert not report.stopped_early

    battery = powers(platform.readings, "battery_power_w")
    # the steps that begin in the charge command's hour charge at its 800 W, those in the idle
    # half hour neither charge nor discharge; the expired discharge was never carried out
    charging = [w for t, w in battery.items() if charge_at < t <= charge_at + timedelta(hours=1)]
    idle = [w for t, w in battery.items() if idle_at < t <= idle_at + timedelta(minutes=30)]
    assert len(charging) == 60 and set(charging) == {800.0}
    assert len(idle) == 30 and set(idle) == {0.0}
    assert set(battery.values()) - {0.0, 800.0}, "self-consumption before and after"

    # one day plan, asked once the history was sent, from the state of charge reported then
    [(sent_before, body)] = platform.plans
    history = [r for r in platform.readings[:sent_before] if r["point"] == "soc"]
    assert max(datetime.fromisoformat(r["ts"]) for r in history) >= backfill_until - timedelta(
        minutes=2
    )
    assert body["soc_now"] == pytest.approx(history[-1]["value"] / 100, abs=1e-3)
    assert body["capacity_kwh"] > 0
