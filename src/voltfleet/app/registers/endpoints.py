"""Device settings over HTTP: a device's registers (search by keyword or group) with the values
last read, Read and Write as commands (O&M engineers and administrators), and vendor register
maps per device model (administrators upload; O&M engineers list)."""

from __future__ import annotations

from fastapi import APIRouter, status

from voltfleet.app.commands.schemas import CommandOut
from voltfleet.app.commands.service import to_out
from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.registers import service
from voltfleet.app.registers.schemas import (
    ReadIn,
    RegisterMapIn,
    RegisterMapOut,
    RegisterOut,
    RegistersOut,
    WriteIn,
)
from voltfleet.domain.registers import Parameter
from voltfleet.store.register_models import RegisterMapFile

router = APIRouter(tags=["registers"])


def register_out(p: Parameter, reading: service.Reading | None) -> RegisterOut:
    return RegisterOut(
        key=p.key,
        group=p.group,
        name=p.name,
        label=p.label,
        unit=p.unit,
        model=p.model,
        address=p.address,
        data_type=p.data_type,
        writable=p.writable,
        min=p.minimum,
        max=p.maximum,
        step=p.step,
        symbols=[f"{s.name}={s.value}" for s in p.symbols],
        value=service.shown(p, reading.value) if reading else None,
        read_at=reading.read_at if reading else None,
    )


@router.get(
    "/api/v1/devices/{device_id}/registers",
    response_model=RegistersOut,
    summary="A device's registers and the values last read (O&M engineers and administrators)",
)
def list_registers(
    session: DbSession, caller: CallerDep, device_id: str, q: str = "", group: str = ""
) -> RegistersOut:
    """``q``: every word must appear in the name, label, unit or description; ``group``: one
    register group (as listed in ``groups``)."""
    device, rmap, found = service.settings(session, caller, device_id, q[:100], group[:100])
    return RegistersOut(
        device_id=device.id,
        map=rmap.name,
        groups=rmap.groups(),
        registers=[register_out(p, r) for p, r in found],
    )


@router.post(
    "/api/v1/devices/{device_id}/registers/read",
    response_model=CommandOut,
    status_code=status.HTTP_201_CREATED,
    summary="Read registers: sends a register_read command (O&M engineers and administrators)",
)
def read_registers(
    session: DbSession, caller: CallerDep, now: NowDep, device_id: str, body: ReadIn
) -> CommandOut:
    """The values appear in the command's ``result`` and in the register list once the gateway
    answers."""
    return to_out(service.read(session, caller, device_id, body.keys, now=now))


@router.post(
    "/api/v1/devices/{device_id}/registers/write",
    response_model=CommandOut,
    status_code=status.HTTP_201_CREATED,
    summary="Write a register: sends a register_write command (O&M engineers and administrators)",
)
def write_register(
    session: DbSession, caller: CallerDep, now: NowDep, device_id: str, body: WriteIn
) -> CommandOut:
    """Refused (422) when the register is read-only or the value is out of range or off its
    step. Audited when sent, and with the values before and after when answered."""
    return to_out(service.write(session, caller, device_id, body.key, body.value, now=now))


def map_out(row: RegisterMapFile) -> RegisterMapOut:
    return RegisterMapOut(
        id=row.id,
        org_id=row.org_id,
        device_model=row.device_model,
        filename=row.filename,
        format=row.format,
        parameters=len(row.parameters or []),
        created_at=row.created_at,
    )


@router.post(
    "/api/v1/orgs/{org_id}/register-maps",
    response_model=RegisterMapOut,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a vendor register map for a device model (administrators)",
)
def upload_map(
    session: DbSession, caller: CallerDep, now: NowDep, org_id: str, body: RegisterMapIn
) -> RegisterMapOut:
    """Replaces the organisation's earlier map of that model; the organisation's devices of the
    model (and those of organisations below it) use it. A bad file is refused (422) with the
    line and the reason."""
    row = service.upload(
        session,
        caller,
        org_id,
        body.device_model,
        body.filename,
        body.format,
        body.content,
        now=now,
    )
    return map_out(row)


@router.get(
    "/api/v1/orgs/{org_id}/register-maps",
    response_model=list[RegisterMapOut],
    summary="An organisation's vendor register maps (O&M engineers and administrators)",
)
def list_maps(session: DbSession, caller: CallerDep, org_id: str) -> list[RegisterMapOut]:
    return [map_out(r) for r in service.maps_of(session, caller, org_id)]
