"""What ``POST /api/v1/ingest`` checks before it looks at a reading: the gateway's credential
first (401 without reading the body, so an unauthenticated sender costs nothing), then the body's
size while it streams in (413 above ``Settings.max_ingest_body_bytes``, by the declared
Content-Length and by the bytes actually received, so a sender that lies or sends chunks is
stopped at the limit rather than read to the end). The number of readings in a batch is bounded
by the decoder (``schemas.MAX_BATCH``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from voltfleet.app.alarms.schemas import AlarmEventIn
from voltfleet.app.deps import DbSession, RuntimeDep
from voltfleet.app.errors import ApiError
from voltfleet.app.telemetry import service
from voltfleet.app.telemetry.decode import WireReading, decode_http
from voltfleet.store.fleet_models import Device


def ingest_gateway(
    session: DbSession, authorization: Annotated[str | None, Header()] = None
) -> Device:
    """The gateway whose token is ``Authorization: Bearer <token>``, or 401."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    return service.gateway_for_token(session, token)


IngestGateway = Annotated[Device, Depends(ingest_gateway)]


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the body is larger than {limit:,} bytes: send the readings in smaller batches",
        "too_large",
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def ingest_body(
    request: Request, runtime: RuntimeDep, _gateway: IngestGateway
) -> tuple[list[WireReading], list[AlarmEventIn]]:
    """The decoded body (documented as ``schemas.IngestIn``), read only once the credential
    is known good (``_gateway``: resolved first) and only up to the size limit."""
    return decode_http(await read_limited(request, runtime.settings.max_ingest_body_bytes))


IngestBody = Annotated[tuple[list[WireReading], list[AlarmEventIn]], Depends(ingest_body)]
