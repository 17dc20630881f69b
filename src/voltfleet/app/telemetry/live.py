"""Live data API: a site's or a device's latest values as server-sent events, and as a JSON
snapshot for integrators.

The streams use sse-starlette's ``EventSourceResponse`` rather than a bare ``StreamingResponse``:
it sends keep-alive comments, notices a client that went away, and ends open streams when the
server shuts down (uvicorn would otherwise wait for every stream to end before stopping).
FastAPI's own SSE support streams a generator *endpoint*, which would run the access check
after the response has started; here the check runs first, so a caller who may not see the
site gets a plain 404 (or 401) instead of an empty stream.

Besides a bearer token or an API key, these routes accept the portal's session cookie: the
browser's ``EventSource`` cannot send headers. They only read, so the cookie adds no CSRF risk.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from voltfleet.app.deps import (
    Caller,
    DbSession,
    NowDep,
    RuntimeDep,
    api_key_header,
    bearer,
    get_caller,
    unauthenticated,
)
from voltfleet.app.devices.live_switch import watched
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.portal.session import portal_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.telemetry import live_service as ls
from voltfleet.app.telemetry.live_schemas import LiveOut
from voltfleet.domain.access import Action

router = APIRouter(tags=["telemetry"])


def live_caller(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    now: NowDep,
    token: Annotated[str | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Caller:
    """A bearer token or an API key as everywhere in the API, else the portal's session."""
    if token or api_key:
        return get_caller(request, session, runtime, now, token, api_key)
    caller = portal_caller(request, session)
    if caller is None or caller.user.must_change_password:
        raise unauthenticated()
    return caller


LiveCaller = Annotated[Caller, Depends(live_caller)]

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "`text/event-stream`: an `event: live` at once and then every `live_interval_s` "
            "seconds, its `data` the JSON of `/live/now`; the first carries `retry:`. The stream "
            "ends after `live_max_s` seconds (the browser reconnects), or with `event: denied` "
            "when the caller may no longer see the site."
        ),
        # One parsed event (the HTML specification's fields); OpenAPI 3.0/3.1 readers such as
        # schemathesis take ``schema`` of an event stream as the schema of each event.
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "event": {"type": "string", "enum": ["live", "denied"]},
                        "data": {"type": "string", "description": "JSON of /live/now"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer", "minimum": 0},
                    },
                }
            }
        },
    }
}


def _stream(runtime: RuntimeDep, target: ls.LiveTarget) -> EventSourceResponse:
    events = ls.events(runtime.db, runtime.settings, target, runtime.clock)
    # watched: the gateways are asked to send every 10 s while the stream is open
    ids = {"site_id": target.site_id, "device_id": target.device_id}
    return EventSourceResponse(watched(events, runtime.db, runtime.clock, **ids))


@router.get(
    "/api/v1/sites/{site_id}/live",
    response_class=EventSourceResponse,
    responses=STREAM_DOC,
    tags=["sites"],
    summary="A site's live data as server-sent events",
)
def site_live_stream(
    session: DbSession, caller: LiveCaller, runtime: RuntimeDep, site_id: str
) -> EventSourceResponse:
    """Each event: the site's status, its power flows (PV, grid, battery and SoC, load) and per
    device its status and the latest value of each data point."""
    SiteRepository(session, caller).get_for(site_id, Action.READ)
    return _stream(runtime, ls.LiveTarget.of(caller, site_id=site_id))


@router.get(
    "/api/v1/sites/{site_id}/live/now",
    response_model=LiveOut,
    tags=["sites"],
    summary="A site's live data now (one snapshot, as in the stream)",
)
def site_live_now(
    session: DbSession, caller: LiveCaller, runtime: RuntimeDep, now: NowDep, site_id: str
) -> LiveOut:
    """Flows sum the fresh values (younger than `offline_after_s`) of the devices in the site's
    statistical range; the load is derived from the balance when no device measures it."""
    return ls.site_live(session, caller, site_id, runtime.settings, now)


@router.get(
    "/api/v1/devices/{device_id}/live",
    response_class=EventSourceResponse,
    responses=STREAM_DOC,
    tags=["devices"],
    summary="A device's live data as server-sent events",
)
def device_live_stream(
    session: DbSession, caller: LiveCaller, runtime: RuntimeDep, device_id: str
) -> EventSourceResponse:
    """As the site's stream, for one device (its flows are its own values)."""
    DeviceRepository(session, caller).get_for(device_id, Action.READ)
    return _stream(runtime, ls.LiveTarget.of(caller, device_id=device_id))
