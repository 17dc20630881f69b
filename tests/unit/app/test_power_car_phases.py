"""A car's phases, read from its charger's per-line currents (store.power_repository.car_phases):
a one-phase car that is paused draws nothing on any line, and must stay a one-phase car, or it
would be counted on all three phases and could never fit again where it fitted on one."""

from __future__ import annotations

from voltfleet.store.power_repository import EV_LINE_POINTS, Latest, car_phases


def lines(l1: float, l2: float, l3: float, age_s: float = 5.0) -> Latest:
    return {("evc", p): (age_s, a) for p, a in zip(EV_LINE_POINTS, (l1, l2, l3), strict=True)}


def test_a_car_on_l1_only_is_a_one_phase_car() -> None:
    assert car_phases(lines(7.0, 0.0, 0.0), "evc") == 1
    assert car_phases(lines(7.0, 7.0, 7.0), "evc") == 3
    assert car_phases({}, "evc") == 3  # unknown: the safe guess
    assert car_phases(lines(7.0, 0.0, 0.0, age_s=600), "evc") == 3  # too old to tell


def test_a_paused_one_phase_car_stays_one_phase() -> None:
    assert car_phases(lines(0.0, 0.0, 0.0), "evc", sent_phases=1) == 1
    assert car_phases(lines(0.0, 0.0, 0.0), "evc", sent_phases=3) == 3
    assert car_phases(lines(0.0, 0.0, 0.0), "evc") == 3  # never seen charging: unknown
    # the car charges on three lines now: that is what it is
    assert car_phases(lines(7.0, 7.0, 7.0), "evc", sent_phases=1) == 3
