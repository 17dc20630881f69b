from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, UploadFile, status

from voltfleet.app.deps import CallerDep, DbSession, NowDep, RuntimeDep
from voltfleet.app.devices import service as device_service
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.devices.schemas import DeviceIn, DeviceOut, ImportReport, Topology
from voltfleet.app.devices.views import device_views, topology
from voltfleet.app.orgs.sharing import find_receiver
from voltfleet.app.pagination import Page, Paging
from voltfleet.app.sites import listing, service
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.sites.schemas import (
    Accepted,
    DeleteIn,
    DistributeIn,
    ShareIn,
    ShareOut,
    SiteCreate,
    SiteCreated,
    SiteDayStatus,
    SiteOut,
    SiteStatusName,
    SiteType,
    SiteUpdate,
    StatisticalRange,
    StatisticalRangeIn,
    StatusCounts,
)
from voltfleet.domain.access import Action, Kind
from voltfleet.usecases.errors import NotFound, TooLarge, UnsupportedMedia

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])

PICTURE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
PICTURE_MAX_BYTES = 2 * 1024 * 1024


@router.get("", response_model=Page[SiteOut], summary="Sites you can see, searched")
def list_sites(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    now: NowDep,
    q: Annotated[str | None, Query(description="part of the site name")] = None,
    serial: Annotated[str | None, Query(description="serial number of a device")] = None,
    registration_no: Annotated[str | None, Query(description="a gateway's registration no")] = None,
    account: Annotated[str | None, Query(description="part of the owner's email or name")] = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    region: str | None = None,
    status: SiteStatusName | None = None,
    org_id: Annotated[str | None, Query(description="superior organisation")] = None,
    site_type: SiteType | None = None,
    shared: Annotated[bool | None, Query(description="only shared (true) / own (false)")] = None,
    sort: Annotated[
        str,
        Query(
            description="name (natural order), status, type, region, online_rate, capacity, "
            "power, yield_today, alarms, superior, created; -x for descending"
        ),
    ] = "name",
) -> Page[SiteOut]:
    caller.require(Kind.SITE, Action.LIST)
    filters = SiteFilters(
        q=q,
        serial=serial,
        registration_no=registration_no,
        account=account,
        country=country,
        region=region,
        status=status,
        org_id=org_id,
        site_type=site_type,
        shared=shared,
    )
    rows, total = listing.page_of_sites(session, caller, filters, sort, paging, now)
    return Page(
        items=listing.with_figures(service.site_views(session, caller, rows), rows, session, now),
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.post("", response_model=SiteCreated, status_code=status.HTTP_201_CREATED)
def create_site(
    session: DbSession, runtime: RuntimeDep, caller: CallerDep, body: SiteCreate
) -> SiteCreated:
    """Optionally bind a gateway; the account is a new owner (mailed a temporary password), an
    existing owner account, or none for now."""
    site, created = service.create_site(session, runtime, caller, body)
    view = service.site_views(session, caller, [site])[0]
    return SiteCreated(**view.model_dump(), owner_created=created)


@router.get("/status-counts", response_model=StatusCounts, summary="Your sites per status")
def status_counts(session: DbSession, caller: CallerDep) -> StatusCounts:
    """Sites shared to your organisation are left out: they are not in your statistics."""
    caller.require(Kind.SITE, Action.LIST)
    counts = SiteRepository(session, caller).status_counts()
    return StatusCounts(**counts, total=sum(counts.values()))


@router.get("/{site_id}", response_model=SiteOut)
def read_site(session: DbSession, caller: CallerDep, site_id: str) -> SiteOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return service.site_views(session, caller, [site])[0]


@router.patch("/{site_id}", response_model=SiteOut, summary="Update or rename a site")
def update_site(session: DbSession, caller: CallerDep, site_id: str, body: SiteUpdate) -> SiteOut:
    site = service.update_site(session, caller, site_id, body)
    return service.site_views(session, caller, [site])[0]


@router.delete("/{site_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_site(
    session: DbSession,
    runtime: RuntimeDep,
    caller: CallerDep,
    site_id: str,
    body: Annotated[DeleteIn | None, Body()] = None,
) -> None:
    """A site with devices needs the code its owner was mailed; the site's telemetry is kept for
    the retention period (setting ``site_retention_days``)."""
    service.delete_site(session, runtime, caller, site_id, body.code if body else None)


@router.post("/{site_id}/deletion-code", response_model=Accepted)
def deletion_code(
    session: DbSession, runtime: RuntimeDep, caller: CallerDep, site_id: str
) -> Accepted:
    """Mail the site's owner the code that authorises deleting a site with devices."""
    to = service.request_deletion_code(session, runtime, caller, site_id)
    return Accepted(detail=f"a code was mailed to the site's owner ({to})")


@router.put("/{site_id}/picture", status_code=status.HTTP_204_NO_CONTENT)
def upload_picture(session: DbSession, caller: CallerDep, site_id: str, file: UploadFile) -> None:
    """A PNG, JPEG, WebP or GIF image of at most 2 MB."""
    if file.content_type not in PICTURE_TYPES:
        raise UnsupportedMedia("the picture must be a PNG, JPEG, WebP or GIF image")
    data = file.file.read(PICTURE_MAX_BYTES + 1)
    if len(data) > PICTURE_MAX_BYTES:
        raise TooLarge("the picture must be at most 2 MB")
    service.set_picture(session, caller, site_id, data, file.content_type)


@router.get("/{site_id}/picture", response_class=Response)
def read_picture(session: DbSession, caller: CallerDep, site_id: str) -> Response:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    if not site.picture_type:
        raise NotFound("picture")
    return Response(site.picture or b"", media_type=site.picture_type)


@router.post("/{site_id}/distribute", response_model=SiteOut, summary="Give a site to an owner")
def distribute(session: DbSession, caller: CallerDep, site_id: str, body: DistributeIn) -> SiteOut:
    site = service.distribute(session, caller, site_id, body.user_id)
    return service.site_views(session, caller, [site])[0]


@router.get("/{site_id}/shares", response_model=list[ShareOut])
def list_shares(session: DbSession, caller: CallerDep, site_id: str) -> list[ShareOut]:
    return [
        ShareOut(org_id=o.id, org_name=o.name, created_at=s.created_at)
        for s, o in service.shares(session, caller, site_id)
    ]


@router.post("/{site_id}/shares", response_model=ShareOut, status_code=status.HTTP_201_CREATED)
def share_site(
    session: DbSession, runtime: RuntimeDep, caller: CallerDep, site_id: str, body: ShareIn
) -> ShareOut:
    """Administrators share a site with another organisation, which can view and edit it (and
    remove it from its list) but not share it on."""
    org_id = body.org_id or find_receiver(session, runtime, caller, body.org or "").id
    row, org = service.share(session, caller, site_id, org_id)
    return ShareOut(org_id=org.id, org_name=org.name, created_at=row.created_at)


@router.delete("/{site_id}/shares/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def unshare_site(session: DbSession, caller: CallerDep, site_id: str, org_id: str) -> None:
    """The sharer withdraws the share, or the receiving organisation removes the site from its
    list."""
    service.unshare(session, caller, site_id, org_id)


@router.get("/{site_id}/statistical-range", response_model=StatisticalRange)
def read_statistical_range(session: DbSession, caller: CallerDep, site_id: str) -> StatisticalRange:
    """Which inverters and meters count in the site's statistics."""
    return service.statistical_range(session, caller, site_id)


@router.put("/{site_id}/statistical-range", response_model=StatisticalRange)
def set_statistical_range(
    session: DbSession, caller: CallerDep, site_id: str, body: StatisticalRangeIn
) -> StatisticalRange:
    return service.set_statistical_range(session, caller, site_id, body)


@router.get("/{site_id}/status", response_model=SiteDayStatus, summary="Site status for a day")
def day_status(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    site_id: str,
    day: Annotated[
        date | None, Query(description="local date at the site; today if omitted")
    ] = None,
) -> SiteDayStatus:
    """Online: at least one device up and none faulty; offline: no device up; abnormal: at least
    one device faulty during the day."""
    return service.day_status(session, caller, site_id, day, now=now)


@router.get("/{site_id}/topology", response_model=Topology)
def site_topology(session: DbSession, caller: CallerDep, site_id: str) -> Topology:
    """The device tree: gateway > inverter > battery / meter; charger > connectors."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    caller.require(Kind.DEVICE, Action.READ)
    return topology(session, site, DeviceRepository(session, caller).of_site(site.id))


@router.post("/{site_id}/devices", response_model=DeviceOut, status_code=status.HTTP_201_CREATED)
def add_device(session: DbSession, caller: CallerDep, site_id: str, body: DeviceIn) -> DeviceOut:
    """Bind a device by its serial number, or add it by hand with its details."""
    device = device_service.add_device(session, caller, site_id, body)
    return device_views(session, [device])[0]


@router.post("/{site_id}/devices/import", response_model=ImportReport)
def import_devices(
    session: DbSession, caller: CallerDep, site_id: str, file: UploadFile
) -> ImportReport:
    """A CSV file (UTF-8; comma or semicolon) with a header row: kind, serial and optionally
    subtype, name, model, parent_serial, comm_address, registration_no, fw_dsp, fw_lcd, fw_arm,
    rated_power_w, connectors. Good rows are bound; each refused row is reported with why."""
    data = file.file.read(device_service.IMPORT_MAX_BYTES + 1)
    return device_service.import_devices(session, caller, site_id, data)
