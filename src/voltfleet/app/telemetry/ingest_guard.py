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
from voltfleet.app.deps import DbSession, NowDep, RuntimeDep
from voltfleet.app.request_limits import read_limited
from voltfleet.app.telemetry import service
from voltfleet.app.telemetry.decode import WireReading, decode_http
from voltfleet.store.fleet_models import Device


def ingest_gateway(
    session: DbSession, now: NowDep, authorization: Annotated[str | None, Header()] = None
) -> Device:
    """The gateway whose token is ``Authorization: Bearer <token>``, or 401."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    return service.gateway_for_token(session, token, now)


IngestGateway = Annotated[Device, Depends(ingest_gateway)]


async def ingest_body(
    request: Request, runtime: RuntimeDep, _gateway: IngestGateway
) -> tuple[list[WireReading], list[AlarmEventIn]]:
    """The decoded body (documented as ``schemas.IngestIn``), read only once the credential
    is known good (``_gateway``: resolved first) and only up to the size limit."""
    return decode_http(await read_limited(request, runtime.settings.max_ingest_body_bytes))


IngestBody = Annotated[tuple[list[WireReading], list[AlarmEventIn]], Depends(ingest_body)]
