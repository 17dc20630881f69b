"""A device's counter restarts over HTTP (app/telemetry/restarts.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.telemetry import restarts
from voltfleet.app.telemetry.restarts import CounterRestartIn, CounterRestartOut

router = APIRouter(prefix="/api/v1/devices/{device_id}/counter-restarts", tags=["devices"])


@router.get("", response_model=list[CounterRestartOut], summary="A device's counter restarts")
def list_restarts(
    session: DbSession,
    caller: CallerDep,
    device_id: str,
    point: Annotated[str | None, Query(description="only this counter")] = None,
) -> list[CounterRestartOut]:
    """Oldest first."""
    rows = restarts.list_restarts(session, caller, device_id, point)
    return [CounterRestartOut.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "",
    response_model=CounterRestartOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record that an energy counter restarted (a replaced meter, a firmware reset)",
)
def record_restart(
    session: DbSession, caller: CallerDep, now: NowDep, device_id: str, body: CounterRestartIn
) -> CounterRestartOut:
    """From ``at`` on, the counter's readings are checked against the new counter only (they
    must not go below ``start_wh``), and the energy across the restart is the new value minus
    ``start_wh`` (0: restarted from zero). The roll-ups around it are recomputed at once.
    Readings quarantined as ``counter_reset`` before stay there until released
    (``POST /api/v1/quarantine/release``). For O&M engineers and administrators; audited."""
    row = restarts.record(session, caller, device_id, body, now)
    return CounterRestartOut.model_validate(row, from_attributes=True)


@router.delete(
    "/{restart_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a recorded counter restart no stored reading depends on",
)
def delete_restart(
    session: DbSession, caller: CallerDep, device_id: str, restart_id: str
) -> Response:
    """409 when a stored reading after the restart is below one before it (without the restart
    it would be a counter going backwards); the roll-ups around it are recomputed."""
    restarts.delete(session, caller, device_id, restart_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
