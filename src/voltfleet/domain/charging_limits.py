"""Charging limits in platform terms: what the platform asks a charger to hold to, and what a
charger says it applies (its composite schedule). Version-free: OCPP 1.6's ChargePointMaxProfile
and 2.0.1's ChargingStationMaxProfile are both ``Purpose.STATION_MAX`` here; the wire words are
in protocols/ocpp/.

Limits are in amperes per phase, with the number of phases the limit allows (None: as the
charger and the car decide). A limit of 0 A pauses charging.

Pure: no I/O, no clock, no framework.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Purpose(StrEnum):
    """What a limit applies to: the whole charger (connector 0), every transaction by default,
    or one running transaction. A station maximum caps the others."""

    STATION_MAX = "station_max"
    TX_DEFAULT = "tx_default"
    TX = "tx"


@dataclass(frozen=True)
class LimitPeriod:
    """From ``start_s`` seconds after the schedule's start: at most ``limit_a`` per phase on
    ``phases`` phases (None: unchanged)."""

    start_s: int
    limit_a: float
    phases: int | None = None


@dataclass(frozen=True)
class ChargingLimit:
    """A charging profile in platform terms. ``stack_level``: of two profiles of the same purpose
    the higher level wins while it is valid. ``transaction_id``: the platform's id of the session
    a ``Purpose.TX`` limit is for."""

    profile_id: int
    purpose: Purpose
    periods: tuple[LimitPeriod, ...]
    stack_level: int = 0
    transaction_id: int | None = None
    start: datetime | None = None  # None: relative, from when the charger applies it
    duration_s: int | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True)
class CompositeSchedule:
    """What the charger says it will apply on a connector over a time window."""

    connector_id: int
    start: datetime | None
    duration_s: int
    periods: tuple[LimitPeriod, ...] = field(default=())


class LimitError(ValueError):
    """A limit that no charger should get (negative, not a number, no periods ...)."""


def check_limit(limit: ChargingLimit, max_a: float = 1000.0) -> ChargingLimit:
    """``limit`` when it is sound: at least one period, starting at 0, in increasing order, each
    a finite current between 0 and ``max_a`` on 1 or 3 phases (or unset)."""
    if not limit.periods:
        raise LimitError("a charging limit needs at least one period")
    if limit.periods[0].start_s != 0:
        raise LimitError("the first period starts at 0 s")
    starts = [p.start_s for p in limit.periods]
    if starts != sorted(set(starts)):
        raise LimitError("periods start in strictly increasing order")
    for p in limit.periods:
        if not math.isfinite(p.limit_a) or not 0 <= p.limit_a <= max_a:
            raise LimitError(f"a period's limit must be between 0 and {max_a:g} A")
        if p.phases not in (None, 1, 2, 3):
            raise LimitError("a period has 1, 2 or 3 phases")
    if not 0 <= limit.stack_level <= 1000:
        raise LimitError("the stack level is between 0 and 1000")
    if limit.purpose is Purpose.TX and limit.transaction_id is None:
        raise LimitError("a transaction's limit names its transaction")
    return limit


def limit_at(
    limits: Sequence[ChargingLimit], at: datetime, started: datetime, transaction: bool
) -> tuple[float | None, int | None]:
    """The current (A per phase) and phases a charger applies at ``at`` from its installed
    limits, as OCPP's composite schedule rule has it: per purpose, the valid profile with the
    highest stack level gives the value; a transaction's limit (when a transaction runs)
    replaces the default; the station maximum caps the result. ``started``: when the relative
    limits began (the transaction's start, or when they were installed). (None, None): no limit.
    """

    def value(purpose: Purpose) -> tuple[float | None, int | None]:
        best: ChargingLimit | None = None
        for lim in limits:
            if lim.purpose is not purpose:
                continue
            if lim.valid_to is not None and at >= lim.valid_to:
                continue
            if best is None or lim.stack_level > best.stack_level:
                best = lim
        if best is None:
            return None, None
        origin = best.start or started
        offset = (at - origin) / timedelta(seconds=1)
        if offset < 0 or (best.duration_s is not None and offset >= best.duration_s):
            return None, None
        chosen = best.periods[0]
        for p in best.periods:
            if p.start_s <= offset:
                chosen = p
        return chosen.limit_a, chosen.phases

    tx_a, tx_phases = value(Purpose.TX) if transaction else (None, None)
    if tx_a is None:
        tx_a, tx_phases = value(Purpose.TX_DEFAULT)
    max_a, max_phases = value(Purpose.STATION_MAX)
    if tx_a is None:
        return max_a, max_phases
    if max_a is None:
        return tx_a, tx_phases
    phases = (
        min(p for p in (tx_phases, max_phases) if p is not None)
        if (tx_phases or max_phases)
        else None
    )
    return min(tx_a, max_a), phases
