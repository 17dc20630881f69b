from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.devices import service
from voltfleet.app.devices.repository import DeviceFilters, DeviceRepository
from voltfleet.app.devices.schemas import DeviceOut, DeviceUpdate, KindName, MoveIn, StatusName
from voltfleet.app.devices.views import device_views
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.domain.access import Action, Kind

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.get("", response_model=Page[DeviceOut], summary="Devices you can see, searched")
def list_devices(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    kind: KindName | None = None,
    subtype: str | None = None,
    status: StatusName | None = None,
    model: Annotated[str | None, Query(description="part of the model")] = None,
    firmware: Annotated[str | None, Query(description="part of a DSP/LCD/ARM version")] = None,
    serial: Annotated[str | None, Query(description="part of the serial number")] = None,
    site_id: str | None = None,
    q: Annotated[str | None, Query(description="part of the name or serial")] = None,
    live_data: Annotated[
        str | None,
        Query(
            description="supported, not_supported, enabled, or a reason: firmware_too_old, "
            "gateway_unsupported, micro_inverter, datahub, no_gateway"
        ),
    ] = None,
    sort: Annotated[
        str,
        Query(description="serial, name, kind, status, model, created_at, last_seen; -x for desc"),
    ] = "serial",
) -> Page[DeviceOut]:
    caller.require(Kind.DEVICE, Action.LIST)
    filters = DeviceFilters(
        kind=kind,
        subtype=subtype,
        status=status,
        model=model,
        firmware=firmware,
        serial=serial,
        site_id=site_id,
        q=q,
        live_data=live_data,
    )
    stmt = DeviceRepository(session, caller).query(filters, sort)
    rows, total = paginate(session, stmt, paging)
    return Page(
        items=device_views(session, rows), total=total, page=paging.page, page_size=paging.page_size
    )


@router.get("/{device_id}", response_model=DeviceOut)
def read_device(session: DbSession, caller: CallerDep, device_id: str) -> DeviceOut:
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    return device_views(session, [device])[0]


@router.patch("/{device_id}", response_model=DeviceOut, summary="Update or rename a device")
def update_device(
    session: DbSession, caller: CallerDep, device_id: str, body: DeviceUpdate
) -> DeviceOut:
    """Also switches live data on or off (refused with the reason when not supported)."""
    device = service.update_device(session, caller, device_id, body)
    return device_views(session, [device])[0]


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_device(session: DbSession, caller: CallerDep, now: NowDep, device_id: str) -> None:
    """Unbind a gateway (with the devices below it) or delete another device. Its telemetry is
    kept for the retention period; the serial number can be bound again."""
    service.delete_device(session, caller, device_id, now)


@router.post("/{device_id}/move", response_model=DeviceOut)
def move_device(session: DbSession, caller: CallerDep, device_id: str, body: MoveIn) -> DeviceOut:
    """Move a gateway, with the devices below it, to another site."""
    device = service.move_device(session, caller, device_id, body.site_id)
    return device_views(session, [device])[0]
