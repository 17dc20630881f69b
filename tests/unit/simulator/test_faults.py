"""Simulated battery faults: rare and seeded, the battery idle (energy still conserved) and silent
while the fault is on, recovered after minutes; and the alarm events the runner sends for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.unit.simulator.test_model import assert_conserved, home
from voltfleet.domain.alarms import CATALOGUE
from voltfleet.simulator.client import HomeAccount
from voltfleet.simulator.fleet import (
    BATTERY_FAULT,
    HomeRun,
    fault_events,
    fault_input,
    readings_for,
    simulate,
)
from voltfleet.simulator.model import (
    Counters,
    FaultSpec,
    StepInput,
    battery_faults,
    initial_state,
    step,
)

START = datetime(2025, 6, 16, tzinfo=UTC)


def runs_of(mask: np.ndarray) -> list[int]:  # type: ignore[type-arg]
    """The lengths of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))


def test_faults_are_rare_seeded_and_last_minutes() -> None:
    spec = FaultSpec(per_week=2.0, min_minutes=5.0, max_minutes=30.0)
    year = 52 * 7 * 1440
    mask = battery_faults(spec, year, 60.0, np.random.default_rng(7))
    lengths = runs_of(mask)
    assert 70 <= len(lengths) <= 140  # about 104 a year
    assert min(lengths) >= 5 and max(lengths) <= 60  # two may overlap, rarely
    assert 0.0005 < mask.mean() < 0.005  # down a few hours a year
    again = battery_faults(spec, year, 60.0, np.random.default_rng(7))
    assert np.array_equal(mask, again)
    assert not battery_faults(FaultSpec(per_week=0), year, 60.0, np.random.default_rng(7)).any()


def test_the_battery_idles_during_a_fault_recovers_and_energy_is_conserved() -> None:
    spec = home(ev=None)
    faults = FaultSpec(per_week=14.0, min_minutes=10.0, max_minutes=20.0)
    steps = list(simulate(spec, START, 7 * 1440, 60.0, "try", faults=faults))
    down = np.array([s.battery_fault for _, s in steps])
    assert 5 <= len(runs_of(down)) <= 30 and not down[-30:].all()
    began = ended = 0
    for k, (_, s) in enumerate(steps):
        assert_conserved(spec, s)
        if s.battery_fault:
            assert s.charge_w == 0 and s.discharge_w == 0
            assert s.stored_after_wh == s.stored_before_wh
        elif k and steps[k - 1][1].battery_fault:
            ended += 1
        if s.battery_fault and (k == 0 or not steps[k - 1][1].battery_fault):
            began += 1
    assert began >= 5 and ended >= began - 1  # every fault recovers (the last may run on)
    # the battery works between faults: it charges and discharges over the week
    c = steps[-1][1].counters
    assert c.charge_wh > 0 and c.discharge_wh > 0
    assert c.pv_wh + c.import_wh - c.export_wh == pytest.approx(
        c.load_wh + c.ev_wh + c.charge_wh - c.discharge_wh, rel=1e-9
    )
    # the same seed: the same faults
    steps2 = simulate(spec, START, 7 * 1440, 60.0, "try", faults=faults)
    assert [s.battery_fault for _, s in steps2] == list(down)


def account() -> HomeAccount:
    return HomeAccount(0, "site", "GW", "INV", "BAT", "MTR", {}, "vfg_x")


def test_the_runner_raises_and_clears_an_alarm_and_the_battery_goes_silent() -> None:
    spec = home(ev=None)
    acc = account()
    run = HomeRun(spec, initial_state(spec), Counters(), account=acc)
    t = START + timedelta(minutes=10)
    run.forced_fault = (t, t + timedelta(minutes=3))
    events: list[dict[str, str]] = []
    silent = []
    for k in range(8, 16):
        ts = START + timedelta(minutes=k + 1)
        inp = fault_input(run, StepInput(3000.0, 500.0), ts, 60.0)
        run.state, s = step(run.spec, run.state, inp, ts, 60.0)
        events += fault_events(run, s)
        readings = readings_for(acc, ts, s.counters, s, s.soc, battery=not s.battery_fault)
        if not any(r["device"] == "BAT" for r in readings):
            silent.append(k)
    assert silent == [10, 11, 12]  # the steps ending in (t, t + 3 min]
    assert [(e["action"], e["ts"]) for e in events] == [
        ("raise", (START + timedelta(minutes=11)).isoformat()),
        ("clear", (START + timedelta(minutes=14)).isoformat()),
    ]
    assert {e["code"] for e in events} == {BATTERY_FAULT} and BATTERY_FAULT in CATALOGUE
    assert {e["device"] for e in events} == {"BAT"}
