"""Default departures over HTTP: an id tag's and a connector's usual departure time of day and
energy need, applied to a session when it starts (docs/departure-defaults.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from voltfleet.app.charging import departure_defaults as defaults
from voltfleet.app.charging.departure_defaults_schemas import (
    ConnectorDepartureDefaultOut,
    DepartureDefaultIn,
    DepartureDefaultsOut,
    TagDepartureDefaultOut,
)
from voltfleet.app.deps import CallerDep, DbSession

router = APIRouter(tags=["EV power management"])


@router.get(
    "/api/v1/sites/{site_id}/departure-defaults",
    response_model=DepartureDefaultsOut,
    summary="The site's default departures: per id tag and per connector",
)
def get_defaults(session: DbSession, caller: CallerDep, site_id: str) -> DepartureDefaultsOut:
    """When a session starts, its tag's default (else its connector's) becomes its departure:
    the next such time of day on the site's clock, with that energy need."""
    return defaults.site_defaults(session, caller, site_id)


@router.put(
    "/api/v1/sites/{site_id}/id-tags/{tag_id}/departure-default",
    response_model=TagDepartureDefaultOut,
    summary="Give an id tag a default departure (time of day, energy need); audited",
)
def put_tag_default(
    session: DbSession, caller: CallerDep, site_id: str, tag_id: str, body: DepartureDefaultIn
) -> TagDepartureDefaultOut:
    """Who edits the site's id tags may (installers, O&M, administrators)."""
    return defaults.set_tag_default(session, caller, site_id, tag_id, body)


@router.delete(
    "/api/v1/sites/{site_id}/id-tags/{tag_id}/departure-default",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an id tag's default departure; audited",
)
def delete_tag_default(
    session: DbSession, caller: CallerDep, site_id: str, tag_id: str
) -> Response:
    defaults.clear_tag_default(session, caller, site_id, tag_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/api/v1/sites/{site_id}/connectors/{connector_id}/departure-default",
    response_model=ConnectorDepartureDefaultOut,
    summary="Give a charger connector a default departure (for sessions whose tag has none)",
)
def put_connector_default(
    session: DbSession,
    caller: CallerDep,
    site_id: str,
    connector_id: str,
    body: DepartureDefaultIn,
) -> ConnectorDepartureDefaultOut:
    """Who may update the site's chargers may (as for a session's departure)."""
    return defaults.set_connector_default(session, caller, site_id, connector_id, body)


@router.delete(
    "/api/v1/sites/{site_id}/connectors/{connector_id}/departure-default",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a connector's default departure; audited",
)
def delete_connector_default(
    session: DbSession, caller: CallerDep, site_id: str, connector_id: str
) -> Response:
    defaults.clear_connector_default(session, caller, site_id, connector_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
