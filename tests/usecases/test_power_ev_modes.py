"""The power cycle with departure times and 1p/3p switching (against fakes of its ports): the
surplus falls below three phases' minimum and the connector goes to one phase after the down
delay, the command says one phase; the sun comes back and it goes to three after the up delay,
not sooner than the minimum interval; an urgent session gets more than its neighbour."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from tests.usecases.test_power_management import OUTLETS, FakeRepo
from voltfleet.domain.power.allocate import Demand, MeterReading
from voltfleet.domain.power.departure import Need
from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.phase_switch import PhaseState, PhaseTimers
from voltfleet.domain.power.tree import Connector, GridType, Group, Tree
from voltfleet.usecases import power_management as pm

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SOLAR_TREE = Tree(
    GridType.THREE_400,
    (Group("main", None, 35.0, has_meter=True),),
    (Connector("a", "main", 16.0),),
)


class PhaseRepo(FakeRepo):
    def save_phases(self, location_id: str, states: Mapping[str, PhaseState]) -> None:
        self.snap = pm.Snapshot(
            **{**self.snap.__dict__, "phase_states": {**self.snap.phase_states, **states}}
        )


def solar_snapshot(surplus_w: float, drawn_a: float, phases: int) -> pm.Snapshot:
    # the meter: the car's draw minus the surplus, spread over the three lines
    ev_w = drawn_a * 230.0 * phases
    per_line = (ev_w - surplus_w) / (3 * 230.0)
    return pm.Snapshot(
        "loc",
        SOLAR_TREE,
        PowerSettings(mode=Mode.SOLAR_ONLY, raise_hold_s=0),
        [Demand("a", phases, 0.0, drawn_a)],  # as measured: on the phases it was told
        {"main": MeterReading((per_line,) * 3, 1.0)},
        720,
        OUTLETS,
        {},
        {},
        phase_states={"a": PhaseState(3)},
        phase_timers={"a": PhaseTimers(60.0, 30.0, 300.0)},
    )


def run(repo: PhaseRepo, at: datetime, surplus_w: float) -> pm.Decision:
    st = repo.snap.phase_states["a"]
    drawn = repo.snap.demands[0].drawn_a or 0.0
    fresh = solar_snapshot(surplus_w, drawn, st.phases)
    repo.snap = pm.Snapshot(
        **{**fresh.__dict__, "phase_states": repo.snap.phase_states, "held": repo.snap.held}
    )
    d = pm.plan(repo, "loc", at)
    assert d is not None
    limit = d.held["a"].applied_a
    phases = d.allocation.phases["a"]
    # the car draws what it is allowed on the phases it is told
    repo.snap = pm.Snapshot(**{**repo.snap.__dict__, "demands": [Demand("a", phases, 0.0, limit)]})
    assert phases == repo.snap.phase_states["a"].phases
    return d


def test_solar_only_switches_to_one_phase_after_the_delay_and_back_after_the_interval() -> None:
    repo = PhaseRepo(solar_snapshot(3000.0, 0.0, 3))
    seen: list[tuple[int, int, float]] = []
    surplus = [3000.0] * 20 + [6000.0] * 80  # 3 kW for 100 s, then 6 kW
    for i, w in enumerate(surplus):
        t = i * 5
        d = run(repo, NOW + timedelta(seconds=t), w)
        seen.append((t, d.allocation.phases["a"], d.allocation.limits_a["a"]))
    by_t = {t: (ph, a) for t, ph, a in seen}
    assert by_t[0] == (3, 0.0)  # 3 kW do not hold 3 x 6 A: paused on three phases
    assert by_t[25][0] == 3  # the down delay (30 s) has not passed
    assert by_t[30] == (1, 13.0)  # one phase: 3 kW are 13 A
    # the sun is back at 100 s: up after 60 s would be 160 s, but the switch was at 30 s
    assert by_t[325][0] == 1
    assert by_t[330] == (3, 8.6)  # 6 kW on three phases
    switches = sum(1 for a, b in pairwise(seen) if a[1] != b[1])
    assert switches == 2


def test_the_command_of_a_switch_carries_the_new_number_of_phases() -> None:
    repo = PhaseRepo(solar_snapshot(3000.0, 0.0, 3))
    commands = []
    for i in range(8):
        d = run(repo, NOW + timedelta(seconds=5 * i), 3000.0)
        commands += [(c.limit_a, c.phases) for c in d.commands]
        repo.record_sent("loc", {c.connector: (c.limit_a, c.phases) for c in d.commands}, {}, NOW)
    assert commands[0] == (0.0, 3)
    assert commands[-1] == (13.0, 1)


def test_outside_the_solar_modes_a_switched_connector_goes_back_to_three_phases() -> None:
    snap = solar_snapshot(0.0, 0.0, 1)
    snap = pm.Snapshot(
        **{
            **snap.__dict__,
            "settings": PowerSettings(mode=Mode.SHARING, raise_hold_s=0),
            "phase_states": {"a": PhaseState(1, switched_s=NOW.timestamp())},
        }
    )
    d = pm.decide(snap, NOW + timedelta(seconds=5))
    assert d.allocation.phases["a"] == 3 and d.phase_states["a"].phases == 3


def test_an_urgent_session_gets_more_than_its_neighbour_through_the_cycle() -> None:
    tree = Tree(
        GridType.THREE_400,
        (Group("main", None, 25.0),),
        (Connector("a", "main", 32.0), Connector("b", "main", 32.0)),
    )
    snap = pm.Snapshot(
        "loc",
        tree,
        PowerSettings(raise_hold_s=0),
        [Demand("a", arrived_s=0.0), Demand("b", arrived_s=1.0)],
        {},
        720,
        OUTLETS,
        {},
        {},
        needs={"b": Need(30_000.0, NOW.timestamp() + 2 * 3600)},
    )
    d = pm.decide(snap, NOW)
    assert d.allocation.limits_a == {"a": 6.0, "b": 19.0}
