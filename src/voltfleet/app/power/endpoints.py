"""Power management of a site over HTTP: the setup, the mode, the tree's groups and connectors,
and the live allocation. Installers, O&M engineers and administrators of the site's organisation
change it (site update); owners look (site read)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.power import service
from voltfleet.app.power.schemas import ConnectorIn, GroupIn, PowerOut, SettingsIn, SetupIn
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action

router = APIRouter(prefix="/api/v1/sites/{site_id}/power", tags=["EV power management"])


@router.get("", response_model=PowerOut, summary="The site's power management, live")
def get_power(session: DbSession, caller: CallerDep, now: NowDep, site_id: str) -> PowerOut:
    """The setup, the mode, the tree (groups with their limit, allocation and meter per phase;
    the site's connectors, placed or not, with their limits) as allocated now.
    ``configured`` is false until the setup flow ran."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return service.view(session, site, now)


@router.put("", response_model=PowerOut, summary="Set up power management (or change the setup)")
def put_setup(
    session: DbSession, caller: CallerDep, now: NowDep, site_id: str, body: SetupIn
) -> PowerOut:
    """The setup flow: the grid connection type, the building's main fuse (which becomes the
    root group) and its meter, or none."""
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    service.setup(session, caller, site, body, now)
    return service.view(session, site, now)


@router.patch("/settings", response_model=PowerOut, summary="The mode and its settings")
def patch_settings(
    session: DbSession, caller: CallerDep, now: NowDep, site_id: str, body: SettingsIn
) -> PowerOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    service.update_settings(session, caller, site, body, now)
    return service.view(session, site, now)


@router.post("/groups", response_model=PowerOut, status_code=201, summary="Add a group")
def post_group(
    session: DbSession, caller: CallerDep, now: NowDep, site_id: str, body: GroupIn
) -> PowerOut:
    """A sub-group below ``parent_id`` (by default the main fuse), with its fuse, and
    optionally its meter, safe limit for a silent meter, and peak shaving."""
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    service.add_group(session, caller, site, body, now)
    return service.view(session, site, now)


@router.patch("/groups/{group_id}", response_model=PowerOut, summary="Edit or move a group")
def patch_group(
    session: DbSession, caller: CallerDep, now: NowDep, site_id: str, group_id: str, body: GroupIn
) -> PowerOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    service.update_group(session, caller, site, group_id, body, now)
    return service.view(session, site, now)


@router.delete(
    "/groups/{group_id}",
    status_code=204,
    summary="Delete a group (what was in it moves up to its parent)",
)
def delete_group(session: DbSession, caller: CallerDep, site_id: str, group_id: str) -> Response:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    service.delete_group(session, caller, site, group_id)
    return Response(status_code=204)


@router.put(
    "/connectors/{connector_id}",
    response_model=PowerOut,
    summary="Place a connector in a group; its phase rotation, maximum current, priority",
)
def put_connector(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    site_id: str,
    connector_id: str,
    body: ConnectorIn,
) -> PowerOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    service.place_connector(session, caller, site, connector_id, body)
    return service.view(session, site, now)


@router.delete(
    "/connectors/{connector_id}", status_code=204, summary="Take a connector out of the tree"
)
def delete_connector(
    session: DbSession, caller: CallerDep, site_id: str, connector_id: str
) -> Response:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    service.remove_connector(session, caller, site, connector_id)
    return Response(status_code=204)
