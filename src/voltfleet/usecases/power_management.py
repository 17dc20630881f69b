"""EV power management of a location, cycle by cycle: read the tree, the cars and the meters
(through the ``PowerRepository`` declared here, implemented in ``store/power_repository.py``),
allocate (``domain.power``), smooth (a raise waits for the hold time, a cut is immediate), and
send each connector's limit through the ``ChargerLink`` port, only when it changed.

A cycle runs on every event that can change the answer (a group meter's reading, a session
starting or stopping, a connector's status, a setting) and at least every few seconds
(``CYCLE_S``), so a meter that goes silent is noticed even when nothing else happens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from voltfleet.domain.power.allocate import (
    Allocation,
    Demand,
    MeterReading,
    Situation,
    allocate,
)
from voltfleet.domain.power.departure import Need
from voltfleet.domain.power.fallback import fallback_limits
from voltfleet.domain.power.hysteresis import Held, smooth
from voltfleet.domain.power.modes import PowerSettings
from voltfleet.domain.power.phase_switch import PhaseState, PhaseTimers, step, target_phases
from voltfleet.domain.power.tree import PHASES, GridType, Tree, watts_per_a
from voltfleet.ports import ChargerLink

log = logging.getLogger(__name__)

CYCLE_S = 5.0  # every location is recomputed at least this often
# after a switch to three phases the car is taken for a three-phase one for this long (until
# its meter values show all its lines), so a stale one-phase reading does not switch it back
SWITCHED_S = 120.0
SEND_TIMEOUT_S = 10.0  # a charger that does not answer within this is tried again next cycle


@dataclass(frozen=True)
class Outlet:
    """Where a tree connector's limit goes: the charger's serial and its connector number."""

    serial: str
    connector_no: int


@dataclass(frozen=True)
class Sent:
    """What the charger accepted last (None: nothing yet)."""

    limit_a: float | None = None
    phases: int | None = None
    fallback_a: float | None = None


@dataclass(frozen=True)
class Snapshot:
    """A location as one cycle sees it."""

    location_id: str
    tree: Tree
    settings: PowerSettings
    demands: Sequence[Demand]
    meters: Mapping[str, MeterReading]
    minute_of_day: int
    outlets: Mapping[str, Outlet]  # tree connector id -> charger and connector number
    held: Mapping[str, Held]  # the hysteresis state, instants in epoch seconds
    sent: Mapping[str, Sent]
    surplus_seen_s: float | None = None
    needs: Mapping[str, Need] = field(default_factory=dict)  # departure times, by connector
    # connectors that can switch between one and three phases: their state and timers
    phase_states: Mapping[str, PhaseState] = field(default_factory=dict)
    phase_timers: Mapping[str, PhaseTimers] = field(default_factory=dict)


class PowerRepository(Protocol):
    def location_ids(self) -> list[str]:
        """Every location with power management."""
        ...

    def snapshot(self, location_id: str, now: datetime) -> Snapshot | None:
        """The location as of ``now`` (None when it is gone)."""
        ...

    def save(
        self, location_id: str, held: Mapping[str, Held], surplus_seen_s: float | None
    ) -> None:
        """Keep the hysteresis state of the connectors in ``held`` (the others have no car: their
        state is cleared) and the solar backup's instant."""
        ...

    def record_sent(
        self,
        location_id: str,
        limits: Mapping[str, tuple[float, int]],
        fallbacks: Mapping[str, float],
        now: datetime,
    ) -> None:
        """What chargers accepted: limits (current, phases) and fallback limits, by connector."""
        ...

    def save_phases(self, location_id: str, states: Mapping[str, PhaseState]) -> None:
        """Keep the 1p/3p switching state of these connectors."""
        ...


@dataclass(frozen=True)
class Command:
    connector: str  # tree connector id
    outlet: Outlet
    limit_a: float
    phases: int


@dataclass(frozen=True)
class Decision:
    location_id: str
    allocation: Allocation
    held: dict[str, Held]
    commands: list[Command]  # changed limits to send
    fallbacks: list[Command]  # changed fallback limits to send
    surplus_seen_s: float | None
    phase_states: dict[str, PhaseState] = field(default_factory=dict)  # changed ones only


@dataclass
class Outcome:
    location_id: str
    sent: dict[str, tuple[float, int]] = field(default_factory=dict)
    fallbacks: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # not connected, refused or no answer


def _with_phases(
    demands: Sequence[Demand], states: Mapping[str, PhaseState], now_s: float, grid: GridType
) -> list[Demand]:
    """The demands with the phases a switchable connector is set to: one when switched to one
    (whatever the car could do), three just after a switch to three. What the car draws keeps
    its power (the same watts, per phase of the new count)."""
    out = []
    for d in demands:
        st = states.get(d.connector_id)
        phases = d.car_phases
        if st is not None and st.phases == 1:
            phases = 1
        elif (
            st is not None
            and st.phases == PHASES
            and st.switched_s is not None
            and now_s - st.switched_s < SWITCHED_S
        ):
            phases = PHASES
        if phases != d.car_phases:
            drawn = d.drawn_a
            if drawn is not None:
                drawn = drawn * watts_per_a(grid, d.car_phases) / watts_per_a(grid, phases)
            d = replace(d, car_phases=phases, drawn_a=drawn)
        out.append(d)
    return out


def _switch(
    snap: Snapshot, a: Allocation, demands: Sequence[Demand], now_s: float
) -> dict[str, PhaseState]:
    """The switching state after this cycle of every switchable connector with a car.

    A connector's available power is the surplus less what the other cars are given; its car is
    worth switching when it is known to take three phases, or is on one phase by a switch (then
    it is tried on three, and a one-phase car shows itself)."""
    grid = snap.tree.grid
    solar = snap.settings.mode.solar
    given = {
        d.connector_id: a.limits_a.get(d.connector_id, 0.0)
        * watts_per_a(grid, a.phases.get(d.connector_id, PHASES))
        for d in demands
    }
    total_w = sum(given.values())
    surplus_w = a.surplus_w or 0.0
    out: dict[str, PhaseState] = {}
    for d in snap.demands:  # as measured
        st = snap.phase_states.get(d.connector_id)
        if st is None:
            continue
        if (
            d.car_phases < PHASES
            and st.phases == PHASES
            and (st.switched_s is None or now_s - st.switched_s >= SWITCHED_S)
        ):
            new = PhaseState(st.phases, None, None, st.switched_s)  # a one-phase car
        else:
            available_w = max(0.0, surplus_w - (total_w - given.get(d.connector_id, 0.0)))
            target = target_phases(available_w, grid, snap.settings.min_charge_a)
            timers = snap.phase_timers.get(d.connector_id, PhaseTimers())
            new = step(st, target, now_s, timers, solar)
        if new != st:
            out[d.connector_id] = new
    return out


def decide(snap: Snapshot, now: datetime) -> Decision:
    """One cycle's answer for ``snap``: the allocation, the smoothed limits and what to send."""
    now_s = now.timestamp()
    demands = _with_phases(snap.demands, snap.phase_states, now_s, snap.tree.grid)
    situation = Situation(
        snap.tree,
        snap.settings,
        demands,
        snap.meters,
        minute_of_day=snap.minute_of_day,
        now_s=now_s,
        surplus_seen_s=snap.surplus_seen_s,
        needs=snap.needs,
    )
    a = allocate(situation)
    switched: dict[str, PhaseState] = {}
    if snap.phase_states:
        switched = _switch(snap, a, demands, now_s)
        if any(st.phases != snap.phase_states[cid].phases for cid, st in switched.items()):
            states = {**snap.phase_states, **switched}  # a switch applies in this cycle
            situation = replace(
                situation, demands=_with_phases(snap.demands, states, now_s, snap.tree.grid)
            )
            a = allocate(situation)
    held = smooth(snap.held, a.limits_a, now_s, snap.settings.raise_hold_s)
    commands: list[Command] = []
    for cid, h in held.items():
        outlet = snap.outlets.get(cid)
        if outlet is None:
            continue
        phases = a.phases.get(cid, 3)
        sent = snap.sent.get(cid, Sent())
        if sent.limit_a != h.applied_a or sent.phases != phases:
            commands.append(Command(cid, outlet, h.applied_a, phases))
    fallbacks: list[Command] = []
    for cid, limit in fallback_limits(snap.tree, snap.settings.min_charge_a).items():
        outlet = snap.outlets.get(cid)
        if outlet is not None and snap.sent.get(cid, Sent()).fallback_a != limit:
            fallbacks.append(Command(cid, outlet, limit, snap.tree.grid.phases))
    return Decision(snap.location_id, a, held, commands, fallbacks, a.surplus_seen_s, switched)


async def _send(link: ChargerLink, c: Command, fallback: bool) -> bool:
    if not link.connected(c.outlet.serial):
        return False
    try:
        if fallback:
            call = link.set_fallback_limit(
                c.outlet.serial, c.outlet.connector_no, c.limit_a, c.phases
            )
        else:
            call = link.set_current_limit(
                c.outlet.serial, c.outlet.connector_no, c.limit_a, c.phases
            )
        async with asyncio.timeout(SEND_TIMEOUT_S):  # no task per call, as wait_for makes
            return await call
    except Exception as exc:  # a charger that fails is tried again next cycle
        log.info("charger %s did not take its limit: %s", c.outlet.serial, exc)
        return False


async def send(link: ChargerLink | None, d: Decision) -> Outcome:
    """Send the decision's changed limits (all at once), then the fallback limits."""
    out = Outcome(d.location_id)
    if link is None:
        out.failed = [c.connector for c in d.commands]
        return out
    results = await asyncio.gather(*(_send(link, c, False) for c in d.commands))
    for c, ok in zip(d.commands, results, strict=True):
        if ok:
            out.sent[c.connector] = (c.limit_a, c.phases)
        else:
            out.failed.append(c.connector)
    results = await asyncio.gather(*(_send(link, c, True) for c in d.fallbacks))
    for c, ok in zip(d.fallbacks, results, strict=True):
        if ok:
            out.fallbacks[c.connector] = c.limit_a
    return out


def plan(repo: PowerRepository, location_id: str, now: datetime) -> Decision | None:
    """Decide and keep the hysteresis state (what was applied is applied whether or not the
    charger is reachable: a charger that misses a cut gets it again next cycle)."""
    snap = repo.snapshot(location_id, now)
    if snap is None:
        return None
    d = decide(snap, now)
    repo.save(location_id, d.held, d.surplus_seen_s)
    if d.phase_states:
        repo.save_phases(location_id, d.phase_states)
    return d


def record(repo: PowerRepository, outcome: Outcome, now: datetime) -> None:
    if outcome.sent or outcome.fallbacks:
        repo.record_sent(outcome.location_id, outcome.sent, outcome.fallbacks, now)


def look(repo: PowerRepository, location_id: str, now: datetime) -> Decision | None:
    """Decide without writing anything: the fast path sends first (``send``) and keeps the
    state afterwards (``keep``), so a charger waits for one read, not for a write."""
    snap = repo.snapshot(location_id, now)
    return None if snap is None else decide(snap, now)


def keep(repo: PowerRepository, d: Decision, outcome: Outcome, now: datetime) -> None:
    """After ``send``: the hysteresis state and what the chargers accepted, in one unit of
    work. (A crash between the two loses nothing a cycle cannot redo: the limits are decided
    again and whatever is not recorded as accepted is sent again.)"""
    repo.save(d.location_id, d.held, d.surplus_seen_s)
    if d.phase_states:
        repo.save_phases(d.location_id, d.phase_states)
    record(repo, outcome, now)
