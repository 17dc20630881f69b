"""What the power cycle reads and keeps of departure times and 1p/3p switching
(store.ev_modes_models), for ``store.power_repository``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from voltfleet.domain.power.departure import Need, remaining_wh
from voltfleet.domain.power.phase_switch import PhaseState, PhaseTimers
from voltfleet.store.ev_modes_models import PhaseSwitching, SessionDeparture


def _epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def _at(s: float | None) -> datetime | None:
    return None if s is None else datetime.fromtimestamp(s, UTC)


def needs_of(s: Session, session_of: Mapping[str, Any]) -> dict[str, Need]:
    """By power connector id: what the car of its open session still needs, and by when.
    ``session_of``: power connector id -> its open session's row (id, meter_start_wh,
    meter_last_wh)."""
    if not session_of:
        return {}
    by_session = {row.id: pc_id for pc_id, row in session_of.items()}
    out: dict[str, Need] = {}
    for sid, departure_at, need_wh in s.execute(
        select(
            SessionDeparture.session_id,
            SessionDeparture.departure_at,
            SessionDeparture.energy_need_wh,
        ).where(SessionDeparture.session_id.in_(list(by_session)))
    ):
        pc_id = by_session[sid]
        row = session_of[pc_id]
        charged = (row.meter_last_wh or row.meter_start_wh) - row.meter_start_wh
        out[pc_id] = Need(remaining_wh(need_wh, charged), departure_at.timestamp())
    return out


def phases_of(s: Session, location_id: str) -> tuple[dict[str, PhaseState], dict[str, PhaseTimers]]:
    """The switchable connectors of a location: their state and timers."""
    states: dict[str, PhaseState] = {}
    timers: dict[str, PhaseTimers] = {}
    for r in s.execute(
        select(PhaseSwitching).where(PhaseSwitching.location_id == location_id)
    ).scalars():
        states[r.power_connector_id] = PhaseState(
            r.phases, r.want, _epoch(r.want_since), _epoch(r.switched_at)
        )
        timers[r.power_connector_id] = PhaseTimers(r.up_delay_s, r.down_delay_s, r.min_interval_s)
    return states, timers


def save_phase_states(s: Session, states: Mapping[str, PhaseState]) -> None:
    if not states:
        return
    table = PhaseSwitching.__table__
    s.connection().execute(
        update(table)
        .where(table.c.power_connector_id == bindparam("pc_id"))
        .values(
            phases=bindparam("phases"),
            want=bindparam("want"),
            want_since=bindparam("want_since"),
            switched_at=bindparam("switched_at"),
        ),
        [
            {
                "pc_id": pc_id,
                "phases": st.phases,
                "want": st.want,
                "want_since": _at(st.since_s),
                "switched_at": _at(st.switched_s),
            }
            for pc_id, st in states.items()
        ],
    )
