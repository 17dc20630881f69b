"""Telemetry over HTTP: ingest from a gateway's credential, gateway tokens, the quarantine."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from voltfleet.app.alarms import service as alarm_service
from voltfleet.app.deps import CallerDep, DbSession, NowDep, RuntimeDep
from voltfleet.app.instants import AwareInstant
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.app.telemetry import quarantine, service
from voltfleet.app.telemetry.ingest_guard import IngestBody, IngestGateway
from voltfleet.app.telemetry.quarantine_table import quarantine_table
from voltfleet.app.telemetry.schemas import (
    IngestIn,
    IngestOut,
    QuarantineOut,
    RejectionOut,
    TokenOut,
)
from voltfleet.domain.telemetry.validate import Reason

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
    session: DbSession, runtime: RuntimeDep, gateway: IngestGateway, body: IngestBody
) -> IngestOut:
    """Send readings of the gateway and of the devices below it, as
    ``Authorization: Bearer <gateway token>``. The answer comes after the batch is committed:
    ``accepted`` readings are stored, ``duplicates`` were already stored (same device, data point
    and timestamp), and each quarantined reading is listed with its reason. Alarm events
    (``alarms``) are applied after the readings, in the same transaction; ``alarms.refusals``
    lists those refused. Resending a batch is always safe. The credential is checked before the
    body is read (401); a body larger than the deployment's limit (default 8 MiB) is refused
    with 413."""
    readings, events = body
    result = runtime.ingest(session, gateway, readings, source="http")
    alarms = alarm_service.ingest_alarms(session, gateway, events, now=runtime.clock.now())
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
def issue_token(
    session: DbSession, caller: CallerDep, runtime: RuntimeDep, now: NowDep, device_id: str
) -> TokenOut:
    """The gateway's previous tokens stop working at once. Only a hash is kept: store the token
    on the gateway now, it cannot be shown again."""
    cred, token = service.issue_token(session, caller, device_id, runtime.broker_files, now=now)
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
    reason: Reason | None = None,
    point: str | None = None,
    since: Annotated[
        AwareInstant | None, Query(description="the readings' own timestamps: since <= ts")
    ] = None,
    until: Annotated[AwareInstant | None, Query(description="ts < until")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: a download")] = "json",
) -> Page[QuarantineOut] | Response:
    """For O&M engineers and administrators, over the sites in their scope; newest first.
    ``format=csv`` downloads all matching rows (at most 100,000), paging aside. Release them
    with ``POST /api/v1/quarantine/release``."""
    quarantine.require_om(caller)
    filters = quarantine.Filters(
        site_id, device_id, point, reason.value if reason else None, since, until
    )
    stmt = quarantine.query(caller, filters)
    if format == "csv":
        return quarantine_table(session, stmt).download("quarantine.csv")
    rows, total = paginate(session, stmt, paging)
    return Page(
        items=[QuarantineOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )
