"""``GET /api/v1/gateways/summary``: the gateway dashboard's counts as JSON."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.device_lists.summary import gateway_summary
from voltfleet.domain.access import Action, Kind

router = APIRouter(prefix="/api/v1/gateways", tags=["devices"])


class GatewaySummaryOut(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="online, offline, fault (and unknown)")
    by_type: dict[str, int] = Field(description="4g, wifi, ethernet, datahub")
    by_firmware: dict[str, int] = Field(description='version -> count; "" when none reported')


@router.get(
    "/summary",
    response_model=GatewaySummaryOut,
    summary="Your gateways counted by status, type and firmware version",
)
def read_gateway_summary(session: DbSession, caller: CallerDep) -> GatewaySummaryOut:
    """Over the same gateways as ``GET /api/v1/devices?kind=gateway``: the sites you see."""
    caller.require(Kind.DEVICE, Action.LIST)
    s = gateway_summary(session, caller)
    return GatewaySummaryOut(
        total=s.total, by_status=s.by_status, by_type=s.by_type, by_firmware=s.by_firmware
    )
