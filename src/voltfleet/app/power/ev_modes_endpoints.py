"""Departure times (on a running charging session) and 1p/3p switching (on a connector of the
power tree) over HTTP."""

from __future__ import annotations

from fastapi import APIRouter, Response

from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.power import ev_modes
from voltfleet.app.power.ev_modes_schemas import (
    DepartureIn,
    DepartureOut,
    PhaseSwitchingIn,
    PhaseSwitchingOut,
)
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action

router = APIRouter(tags=["EV power management"])


@router.get(
    "/api/v1/charging/sessions/{session_id}/departure",
    response_model=DepartureOut,
    summary="A session's departure time, energy need and outlook",
)
def get_departure(
    session: DbSession, caller: CallerDep, now: NowDep, session_id: str
) -> DepartureOut:
    """``ready_at``: when the need is met at the power the allocation gives the car now;
    ``short_kwh``: what will be missing at the departure (0 when it will be ready)."""
    return ev_modes.departure_view(session, caller, session_id, now)


@router.put(
    "/api/v1/charging/sessions/{session_id}/departure",
    response_model=DepartureOut,
    summary="Set a running session's departure time and energy need",
)
def put_departure(
    session: DbSession, caller: CallerDep, now: NowDep, session_id: str, body: DepartureIn
) -> DepartureOut:
    """The allocation gives the car the average power it still needs by then (what the fuses
    leave once every car has its minimum), and walks it first when not every car can charge."""
    ev_modes.set_departure(session, caller, session_id, body, now)
    return ev_modes.departure_view(session, caller, session_id, now)


@router.delete(
    "/api/v1/charging/sessions/{session_id}/departure",
    status_code=204,
    summary="Clear a session's departure time",
)
def delete_departure(session: DbSession, caller: CallerDep, session_id: str) -> Response:
    ev_modes.clear_departure(session, caller, session_id)
    return Response(status_code=204)


@router.put(
    "/api/v1/sites/{site_id}/power/connectors/{connector_id}/phase-switching",
    response_model=PhaseSwitchingOut,
    summary="Whether a connector can switch between one and three phases, and its timers",
)
def put_phase_switching(
    session: DbSession, caller: CallerDep, site_id: str, connector_id: str, body: PhaseSwitchingIn
) -> PhaseSwitchingOut:
    """In the solar modes a switchable connector charges on one phase while the surplus is below
    three phases' minimum (3 x 6 A x 230 V), on three when it suffices; each switch waits for its
    delay and at least ``min_interval_s`` after the previous one."""
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    return ev_modes.set_phase_switching(session, caller, site, connector_id, body)
