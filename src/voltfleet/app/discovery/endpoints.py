"""Auto-detect over HTTP: a gateway posts its inventory with its token; people read what a
gateway found and what became of it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header
from pydantic import BaseModel, Field

from voltfleet.app.commands.endpoints import _gateway
from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.discovery import service
from voltfleet.domain.access import Action
from voltfleet.store.discovery_repository import inventory_of
from voltfleet.usecases.errors import Invalid

router = APIRouter(tags=["discovery"])


class InventoryDeviceIn(BaseModel):
    unit_id: int = Field(ge=0, le=255, description="Modbus unit id (communication address)")
    kind: str = Field(description="inverter | battery | meter")
    manufacturer: str = ""
    model: str = ""
    serial: str
    firmware: str = ""
    sunspec_models: list[int] = []


class InventoryIn(BaseModel):
    devices: list[InventoryDeviceIn]


class OfferOut(BaseModel):
    serial: str
    reason: str


class RefusalOut(BaseModel):
    index: int
    reason: str


class InventoryOut(BaseModel):
    added: list[str] = Field(description="serials bound below the gateway now")
    updated: list[str] = Field(description="serials already bound whose details changed")
    unchanged: list[str]
    offered: list[OfferOut] = Field(description="found, but a person has to bind them")
    refused: list[RefusalOut] = Field(description="entries that could not be read")


class FoundOut(BaseModel):
    unit_id: int
    kind: str
    serial: str
    manufacturer: str
    model: str
    firmware: str
    sunspec_models: list[int]
    state: str = Field(description="added | updated | unchanged | offered")
    reason: str
    seen_at: str


@router.post(
    "/api/v1/gateway/inventory",
    response_model=InventoryOut,
    summary="The devices the calling gateway found on its bus (gateway token): auto-detect",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": InventoryIn.model_json_schema()}},
        }
    },
)
def post_inventory(
    session: DbSession,
    now: NowDep,
    body: Annotated[Any, Body()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> InventoryOut:
    """``Authorization: Bearer <gateway token>``. Each device found is bound below the gateway
    on its site, with its model, serial, firmware and Modbus address (its readings are stored
    from then on), or offered for binding with the reason when that needs a person (a serial
    bound elsewhere, two devices with one serial, an address in use). Sending the same
    inventory again changes nothing."""
    gateway = _gateway(session, authorization)
    if body is None:
        raise Invalid('an inventory is {"devices": [...]}')
    outcome = service.apply(session, gateway, body, now)
    return InventoryOut.model_validate(outcome.as_dict())


@router.get(
    "/api/v1/devices/{device_id}/inventory",
    response_model=list[FoundOut],
    summary="What a gateway last found on its bus, and what became of each device",
)
def read_inventory(session: DbSession, caller: CallerDep, device_id: str) -> list[FoundOut]:
    gateway = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    return [
        FoundOut(
            unit_id=r.unit_id,
            kind=r.kind,
            serial=r.serial,
            manufacturer=r.manufacturer,
            model=r.model,
            firmware=r.firmware,
            sunspec_models=list(r.sunspec_models or []),
            state=r.state,
            reason=r.reason,
            seen_at=r.seen_at.isoformat(),
        )
        for r in inventory_of(session, gateway.id)
    ]
