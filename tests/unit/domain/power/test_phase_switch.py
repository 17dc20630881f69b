"""1p/3p switching (domain.power.phase_switch): which phases the surplus asks for, and the
timers that keep a charger from flapping between them."""

from __future__ import annotations

import pytest

from voltfleet.domain.power.phase_switch import (
    PhaseState,
    PhaseTimers,
    step,
    target_phases,
    three_phase_min_w,
)
from voltfleet.domain.power.tree import GridType

G3 = GridType.THREE_400
T = PhaseTimers(up_delay_s=60.0, down_delay_s=30.0, min_interval_s=300.0)


def test_three_phases_need_4140_w_and_one_phase_is_chosen_below() -> None:
    assert three_phase_min_w(G3) == pytest.approx(4140.0)
    assert target_phases(4140.0, G3) == 3
    assert target_phases(4000.0, G3) == 1
    assert target_phases(1500.0, G3) == 1
    assert target_phases(0.0, G3) == 1
    assert target_phases(9000.0, GridType.SINGLE_230) == 1


def run(state: PhaseState, targets: list[tuple[float, int]], solar: bool = True) -> list[int]:
    out = []
    for now, target in targets:
        state = step(state, target, now, T, solar)
        out.append(state.phases)
    return out


def test_down_to_one_phase_only_after_the_condition_held_30_s() -> None:
    s = PhaseState(3)
    assert run(s, [(0, 1), (10, 1), (29, 1), (30, 1)]) == [3, 3, 3, 1]


def test_a_dip_shorter_than_the_delay_changes_nothing_and_restarts_the_wait() -> None:
    s = PhaseState(3)
    assert run(s, [(0, 1), (20, 3), (25, 1), (50, 1), (55, 1)]) == [3, 3, 3, 3, 1]


def test_up_to_three_phases_after_60_s_but_never_within_5_min_of_the_last_switch() -> None:
    s = PhaseState(1, switched_s=0.0)
    # the sun is back at 10 s: held 60 s by 70 s, but the last switch was at 0
    assert run(s, [(10, 3), (70, 3), (299, 3), (300, 3)]) == [1, 1, 1, 3]


def test_flapping_surplus_switches_at_most_once_per_interval() -> None:
    s = PhaseState(3)
    switches = 0
    phases = 3
    for t in range(0, 1800, 5):  # the surplus crosses the threshold every 35 s
        target = 1 if (t // 35) % 2 == 0 else 3
        s = step(s, target, float(t), T)
        if s.phases != phases:
            switches += 1
            phases = s.phases
    assert switches <= 1800 / 300


def test_outside_the_solar_modes_three_phases_at_once() -> None:
    assert run(PhaseState(1, switched_s=0.0), [(5, 1)], solar=False) == [3]


def test_timers_must_be_non_negative() -> None:
    with pytest.raises(ValueError):
        PhaseTimers(up_delay_s=-1)
