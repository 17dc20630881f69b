"""Releasing quarantined readings (the list is ``GET /api/v1/quarantine`` in endpoints.py)."""

from __future__ import annotations

from fastapi import APIRouter

from voltfleet.app.deps import CallerDep, DbSession, RuntimeDep
from voltfleet.app.telemetry import quarantine
from voltfleet.app.telemetry.quarantine import ReleaseIn, ReleaseOut

router = APIRouter(tags=["telemetry"])


@router.post(
    "/api/v1/quarantine/release",
    response_model=ReleaseOut,
    summary="Re-run quarantined readings through ingest, as the gateway that sent them",
)
def release(
    session: DbSession, caller: CallerDep, runtime: RuntimeDep, body: ReleaseIn
) -> ReleaseOut:
    """Name the readings by ``ids``, or by a filter (site, device or gateway, point, reason, and
    the readings' own time range ``since <= ts < until``). Each is checked and stored as if its
    gateway sent it now: those stored, or already stored, leave the quarantine; those refused
    again stay there with the reason they get now (``refusals``). Typical use: after recording
    a counter restart (``POST /api/v1/devices/{id}/counter-restarts``), release the meter's
    ``counter_reset`` readings. For O&M engineers and administrators; audited. An id outside
    your scope answers 404, and nothing is released."""
    return quarantine.release(session, caller, body, runtime.ingest)
