"""Charging sessions over HTTP: the list (and its CSV) and one session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from voltfleet.app.charging.repository import ChargingRepository, SessionFilters, session_table
from voltfleet.app.charging.schemas import ChargingSessionOut
from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.app.tables import Format
from voltfleet.domain.access import Action, Kind

router = APIRouter(tags=["charging"])


@router.get(
    "/api/v1/charging/sessions",
    response_model=Page[ChargingSessionOut],
    summary="EV charging sessions of the sites you see, newest first (or a CSV download)",
)
def list_sessions(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    site_id: str | None = None,
    device_id: Annotated[str | None, Query(description="the charger")] = None,
    active: Annotated[
        bool | None, Query(description="true: running sessions only; false: finished only")
    ] = None,
    format: Format = "json",
) -> Page[ChargingSessionOut] | Response:
    """A running session's ``energy_wh`` is what it has charged so far. ``format=csv`` downloads
    every matching session (at most 50,000), ignoring the paging."""
    caller.require(Kind.DEVICE, Action.LIST)
    repo = ChargingRepository(session, caller)
    filters = SessionFilters(site_id, device_id, active)
    if format == "csv":
        return session_table(repo.all_views(filters)).download("charging-sessions.csv")
    rows, total = paginate(session, repo.query(filters), paging)
    return Page(items=repo.views(rows), total=total, page=paging.page, page_size=paging.page_size)


@router.get(
    "/api/v1/charging/sessions/{session_id}",
    response_model=ChargingSessionOut,
    summary="One charging session",
)
def get_session(session: DbSession, caller: CallerDep, session_id: str) -> ChargingSessionOut:
    repo = ChargingRepository(session, caller)
    row = repo.get(session_id)
    caller.require(Kind.DEVICE, Action.READ)
    return repo.views([row])[0]
