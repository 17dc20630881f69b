"""1p/3p switching of a charger that can change the number of phases it charges on.

In the solar modes a three-phase car needs at least 3 x 6 A x 230 V = 4.14 kW before it can
charge at all, a one-phase car only 1.38 kW: on a cloudy afternoon switching to one phase lets
the car charge from the sun instead of from the grid (or not at all). When the surplus covers
three phases again, the charger goes back to three.

As evcc does it (core/loadpoint_phases.go, learned from, not copied): a switch is decided only
after its condition has held, continuously, for a delay (by default 60 s up, 30 s down; a dip
that ends sooner changes nothing), and never sooner than ``min_interval_s`` after the previous
switch, because every switch interrupts the charge (the car must stop, the contactors change,
the car starts again) and some cars take it badly if it happens often. Outside the solar modes
the connector charges on three phases, switched back at once (a person chose a mode; nothing
flaps).

Pure: instants are epoch seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voltfleet.domain.power.tree import PHASES, GridType, watts_per_a


@dataclass(frozen=True)
class PhaseTimers:
    """When a switch may happen (seconds)."""

    up_delay_s: float = 60.0  # surplus enough for three phases, continuously, this long
    down_delay_s: float = 30.0  # surplus below three phases' minimum, continuously, this long
    min_interval_s: float = 300.0  # at least this long between two switches

    def __post_init__(self) -> None:
        for name in ("up_delay_s", "down_delay_s", "min_interval_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be >= 0")


@dataclass(frozen=True)
class PhaseState:
    """A switchable connector's phases in force, the switch waiting for its delay (``want``,
    since ``since_s``; None: none waits) and when it last switched."""

    phases: int = PHASES
    want: int | None = None
    since_s: float | None = None
    switched_s: float | None = None


def three_phase_min_w(grid: GridType, min_a: float = 6.0) -> float:
    """The least power a three-phase car charges with (6 A on each phase)."""
    return min_a * watts_per_a(grid, PHASES)


def target_phases(available_w: float, grid: GridType, min_a: float = 6.0) -> int:
    """The phases the surplus asks for: three when it covers three phases' minimum, else one
    (also when it covers none: on one phase the car is the first to charge when the sun comes
    back, and solar backup can bridge it)."""
    if grid is GridType.SINGLE_230:
        return 1
    return PHASES if available_w + 1e-9 >= three_phase_min_w(grid, min_a) else 1


def step(
    state: PhaseState,
    target: int,
    now_s: float,
    timers: PhaseTimers,
    solar: bool = True,
) -> PhaseState:
    """The state after this cycle: ``target`` (``target_phases``) is taken only once it has
    been asked for, continuously, for its delay, and the previous switch is long enough ago.
    Outside the solar modes (``solar`` False) three phases at once."""
    if not solar:
        target = PHASES
        if state.phases != PHASES:
            return PhaseState(PHASES, None, None, now_s)
    if target == state.phases:
        return PhaseState(state.phases, None, None, state.switched_s)
    delay = timers.down_delay_s if target < state.phases else timers.up_delay_s
    since = state.since_s if state.want == target and state.since_s is not None else now_s
    spaced = state.switched_s is None or now_s - state.switched_s >= timers.min_interval_s
    if now_s - since >= delay and spaced:
        return PhaseState(target, None, None, now_s)
    return PhaseState(state.phases, target, since, state.switched_s)
