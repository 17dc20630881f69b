"""The simulated gateway obeys commands: a charge command makes the battery charge from the grid
(within its limit, energy conserved), idle stops it, self-consumption gives control back; bad
commands are refused with a reason and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.simulator.commands import interpret
from voltfleet.simulator.model import (
    BatterySpec,
    HomeSpec,
    Mode,
    PvSpec,
    StepInput,
    command,
    initial_state,
    step,
)

BAT = BatterySpec(capacity_wh=10_000, max_charge_w=4000, max_discharge_w=3000)
HOME = HomeSpec("h", 50.0, 8.0, "Europe/Berlin", 4000, PvSpec(5000), BAT)
DEVICES = {"X-BAT", "X-INV"}
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def cmd(kind: str, **params: object) -> dict[str, object]:
    return {"id": "c1", "kind": kind, "device": "X-BAT", "params": params}


def run(state, inp: StepInput):  # type: ignore[no-untyped-def]
    return step(HOME, state, inp, T0 + timedelta(minutes=1), 60.0)


def test_a_charge_command_changes_what_the_battery_does() -> None:
    inp = StepInput(pv_w=1000.0, load_w=500.0)  # 500 W surplus
    state = initial_state(HOME, 0.5)
    _, before = run(state, inp)
    assert before.battery_w == pytest.approx(500.0)  # self-consumption: the surplus only
    out = interpret(cmd("battery_mode", mode="charge", battery_power_w=3000), BAT, DEVICES)
    assert out.ok and out.command is not None and out.command.mode is Mode.SETPOINT
    after_state, after = run(command(state, out.command), inp)
    assert after.battery_w == pytest.approx(3000.0)
    assert after.grid_w == pytest.approx(2500.0)  # the rest comes from the grid
    # energy conserved: pv + grid = load + battery, and the store grows by charge x eta
    assert after.pv_w + after.grid_w == pytest.approx(after.load_w + after.battery_w)
    gained = after_state.stored_wh - state.stored_wh
    assert gained == pytest.approx(3000 / 60 * BAT.eta)


@pytest.mark.parametrize(
    ("body", "battery_w", "fragment"),
    [
        (cmd("battery_mode", mode="charge", battery_power_w=9000), 4000.0, "clipped"),
        (cmd("battery_mode", mode="discharge"), -3000.0, "discharging at -3000 W"),
        (cmd("battery_setpoint", battery_power_w=-1000), -1000.0, "holding at -1000 W"),
        (cmd("battery_setpoint", battery_power_w=0), 0.0, "idle"),
        (cmd("battery_mode", mode="idle"), 0.0, "idle"),
        (cmd("battery_mode", mode="self_consumption"), 500.0, "self-consumption"),
    ],
)
def test_modes_and_limits(body: dict[str, object], battery_w: float, fragment: str) -> None:
    out = interpret(body, BAT, DEVICES)
    assert out.ok and fragment in out.message and out.reply()["status"] == "acknowledged"
    assert out.command is not None
    _, s = run(command(initial_state(HOME, 0.5), out.command), StepInput(1000.0, 500.0))
    assert s.battery_w == pytest.approx(battery_w)


@pytest.mark.parametrize(
    ("body", "battery", "fragment"),
    [
        ({**cmd("battery_mode", mode="idle"), "device": "OTHER"}, BAT, "no device"),
        (cmd("battery_mode", mode="idle"), None, "no battery"),
        (cmd("battery_mode", mode="turbo"), BAT, "unsupported mode"),
        (cmd("reboot"), BAT, "unsupported command kind"),
        (cmd("battery_setpoint"), BAT, "missing"),
        (cmd("battery_setpoint", battery_power_w="x"), BAT, "not a number"),
        ("nonsense", BAT, "unreadable"),
    ],
)
def test_bad_commands_fail_and_change_nothing(
    body: object, battery: BatterySpec | None, fragment: str
) -> None:
    out = interpret(body, battery, DEVICES)
    assert not out.ok and out.command is None and fragment in out.message
    assert out.reply()["status"] == "failed"
