"""Telemetry over HTTP: ingest from a gateway's credential, gateway tokens, the quarantine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status
from sqlalchemy import select

from voltfleet.app.alarms import service as alarm_service
from voltfleet.app.alarms.schemas import AlarmEventIn
from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.errors import forbidden
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.app.sites.repository import visible_sites
from voltfleet.app.telemetry import service
from voltfleet.app.telemetry.decode import WireReading, ingest_body
from voltfleet.app.telemetry.schemas import (
    IngestIn,
    IngestOut,
    QuarantineOut,
    RejectionOut,
    TokenOut,
)
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import QuarantinedReading

router = APIRouter(tags=["telemetry"])


@router.post(
    "/api/v1/ingest",
    response_model=IngestOut,
    summary="A batch of readings from a gateway (gateway token)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": IngestIn.model_json_schema()}},
        }
    },
)
def ingest(
    session: DbSession,
    body: Annotated[tuple[list[WireReading], list[AlarmEventIn]], Depends(ingest_body)],
    authorization: Annotated[str | None, Header()] = None,
) -> IngestOut:
    """Send readings of the gateway and of the devices below it, as
    ``Authorization: Bearer <gateway token>``. The answer comes after the batch is committed:
    ``accepted`` readings are stored, ``duplicates`` were already stored (same device, data point
    and timestamp), and each quarantined reading is listed with its reason. Alarm events
    (``alarms``) are applied after the readings, in the same transaction; ``alarms.refusals``
    lists those refused. Resending a batch is always safe."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    gateway = service.gateway_for_token(session, token)
    readings, events = body
    result = service.ingest(session, gateway, readings)
    alarms = alarm_service.ingest_alarms(session, gateway, events)
    return IngestOut(
        received=result.received,
        accepted=result.accepted,
        duplicates=result.duplicates,
        quarantined=len(result.rejections),
        rejections=[
            RejectionOut(index=r.index, reason=r.reason.value, detail=r.detail)
            for r in result.rejections
        ],
        alarms=alarms,
    )


@router.post(
    "/api/v1/devices/{device_id}/token",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    tags=["devices"],
    summary="Issue (or rotate) a gateway's ingest token, shown once",
)
def issue_token(session: DbSession, caller: CallerDep, device_id: str) -> TokenOut:
    """The gateway's previous tokens stop working at once. Only a hash is kept: store the token
    on the gateway now, it cannot be shown again."""
    cred, token = service.issue_token(session, caller, device_id)
    return TokenOut(
        device_id=cred.device_id, token=token, prefix=cred.prefix, created_at=cred.created_at
    )


@router.get(
    "/api/v1/quarantine",
    response_model=Page[QuarantineOut],
    summary="Readings that were received but not stored, with the reason",
)
def list_quarantine(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    site_id: str | None = None,
    device_id: Annotated[str | None, Query(description="the device or the gateway")] = None,
    reason: str | None = None,
) -> Page[QuarantineOut]:
    """For O&M engineers and administrators, over the sites in their scope; newest first."""
    if not caller.can(Kind.DEVICE, Action.UPDATE):
        raise forbidden("the quarantine is for O&M engineers and administrators")
    stmt = select(QuarantinedReading).where(
        QuarantinedReading.site_id.in_(visible_sites(caller).with_only_columns(Site.id))
    )
    if site_id:
        stmt = stmt.where(QuarantinedReading.site_id == site_id)
    if device_id:
        stmt = stmt.where(
            (QuarantinedReading.device_id == device_id)
            | (QuarantinedReading.gateway_id == device_id)
        )
    if reason:
        stmt = stmt.where(QuarantinedReading.reason == reason)
    stmt = stmt.order_by(QuarantinedReading.received_at.desc(), QuarantinedReading.id)
    rows, total = paginate(session, stmt, paging)
    return Page(
        items=[QuarantineOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )
