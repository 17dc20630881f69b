"""The simulated hybrid inverter runs the working modes, TOU table, power switch and
intelligent-load relay it is sent (simulator/commands.py, simulator/model.py), energy conserved."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.domain.test_work_modes import WINTER_SUMMER
from tests.unit.simulator.test_model import assert_conserved, home
from voltfleet.simulator import commands as sim
from voltfleet.simulator.model import (
    SMART_LOAD_W,
    HomeState,
    StepInput,
    command,
    initial_state,
    step,
)

SPEC = home(ev=None)
BAT = SPEC.battery
assert BAT is not None


def obey(state: HomeState, kind: str, params: dict[str, Any]) -> HomeState:
    out = sim.interpret({"device": "INV", "kind": kind, "params": params}, BAT, {"INV"})
    assert out.ok, out.message
    if out.command is not None:
        state = command(state, out.command)
    return replace(state, **out.state)


def run(state: HomeState, ts: datetime, pv_w: float, load_w: float) -> Any:
    new, s = step(SPEC, state, StepInput(pv_w=pv_w, load_w=load_w), ts, 60.0)
    assert_conserved(SPEC, s)
    return new, s


# 2026-01-14 is a Wednesday; Berlin is UTC+1 in winter.
WED_18_LOCAL = datetime(2026, 1, 14, 17, 0, tzinfo=UTC)
WED_2330_LOCAL = datetime(2026, 1, 14, 22, 30, tzinfo=UTC)
WED_NOON_LOCAL = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)


def test_tou_follows_the_table_in_the_homes_local_time() -> None:
    state = obey(initial_state(SPEC, 0.5), "work_mode", {"mode": "tou", "tou": WINTER_SUMMER})
    _, s = run(state, WED_2330_LOCAL, 0, 500)  # grid-charging window: 3 kW from the grid
    assert s.charge_w == pytest.approx(3000)
    assert s.grid_w == pytest.approx(3500)
    _, s = run(state, WED_18_LOCAL, 0, 500)  # full feed-in slot: discharge at the limit
    assert s.discharge_w == pytest.approx(BAT.max_discharge_w)
    assert s.grid_w == pytest.approx(500 - BAT.max_discharge_w)
    _, s = run(state, WED_NOON_LOCAL, 4000, 500)  # no slot: self-consumption
    assert s.charge_w == pytest.approx(3500)


def test_anti_feedback_caps_the_export_by_curtailing_pv() -> None:
    table = {**WINTER_SUMMER, "feed_in_limit_w": 1000, "grid_charge": False}
    table["seasons"] = [
        {
            "name": "All",
            "from": "01-01",
            "to": "12-31",
            "weekday": [{"start": "00:00", "end": "24:00", "mode": "pv"}],
            "weekend": [],
        }
    ]
    state = obey(initial_state(SPEC, 0.5), "work_mode", {"mode": "tou", "tou": table})
    _, s = run(state, WED_NOON_LOCAL, 6000, 500)
    assert s.charge_w == 0  # PV mode: battery unused
    assert s.grid_w == pytest.approx(-1000)  # export capped
    assert s.pv_w == pytest.approx(1500)


def test_modes_pv_full_feed_in_and_emergency_charging() -> None:
    start = initial_state(SPEC, 0.5)
    _, s = run(obey(start, "work_mode", {"mode": "pv"}), WED_NOON_LOCAL, 0, 800)
    assert s.discharge_w == 0 and s.grid_w == pytest.approx(800)
    _, s = run(obey(start, "work_mode", {"mode": "full_feed_in"}), WED_NOON_LOCAL, 3000, 500)
    assert s.charge_w == 0 and s.grid_w == pytest.approx(-2500)  # surplus exported
    _, s = run(obey(start, "work_mode", {"mode": "emergency_charging"}), WED_NOON_LOCAL, 0, 500)
    assert s.charge_w == pytest.approx(BAT.max_charge_w)


def test_a_stopped_inverter_produces_nothing_and_leaves_the_battery_idle() -> None:
    state = obey(initial_state(SPEC, 0.5), "power_switch", {"on": False})
    _, s = run(state, WED_NOON_LOCAL, 5000, 700)
    assert s.pv_w == 0 and s.charge_w == 0 and s.discharge_w == 0
    assert s.grid_w == pytest.approx(700)
    state = obey(state, "power_switch", {"on": True})
    _, s = run(state, WED_NOON_LOCAL, 5000, 700)
    assert s.pv_w == 5000


def test_the_relay_switches_its_load_by_surplus_with_hysteresis() -> None:
    load = {"mode": "surplus", "on_above_w": 2500, "off_below_w": 0, "min_on_minutes": 0}
    state = obey(initial_state(SPEC, 0.99), "intelligent_load", load)
    state = obey(state, "work_mode", {"mode": "full_feed_in"})  # surplus goes to the grid
    state, s = run(state, WED_NOON_LOCAL, 4000, 500)  # 3.5 kW fed in: on
    assert state.load_on and s.load_w == pytest.approx(500 + SMART_LOAD_W)
    state, s = run(state, WED_NOON_LOCAL, 3000, 500)  # with the relay, 0.5 kW fed in: stays
    assert state.load_on
    state, s = run(state, WED_NOON_LOCAL, 2000, 500)  # importing: off
    assert not state.load_on and s.load_w == pytest.approx(500)


def test_a_wrong_mode_is_refused_by_the_device_too() -> None:
    out = sim.interpret(
        {"device": "INV", "kind": "work_mode", "params": {"mode": "turbo"}}, BAT, {"INV"}
    )
    assert not out.ok and "mode must be one of" in out.message
    out = sim.interpret(
        {"device": "INV", "kind": "work_mode", "params": {"mode": "pv"}}, None, {"INV"}
    )
    assert not out.ok and "no battery" in out.message
