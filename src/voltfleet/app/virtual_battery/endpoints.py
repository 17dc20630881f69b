"""Virtual batteries over HTTP: the partner configures them (list, create, read, edit, delete,
its market-partner ids), the customer reads one like a meter (readings, energy, live) and both
download its ledger (CSV per interval or per day, MSCONS)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.instants import Instant
from voltfleet.app.tables import Format
from voltfleet.app.virtual_battery import exports, ledger_views, service
from voltfleet.app.virtual_battery.schemas import (
    EnergyOut,
    IntervalOut,
    MarketPartnerIn,
    MarketPartnerOut,
    VirtualBatteryIn,
    VirtualBatteryOut,
    VirtualBatteryPatch,
)
from voltfleet.domain.access import Action

router = APIRouter(tags=["virtual batteries"])
BASE = "/api/v1/virtual-batteries"


@router.get(BASE, response_model=list[VirtualBatteryOut], summary="Virtual batteries you see")
def list_batteries(session: DbSession, caller: CallerDep) -> list[VirtualBatteryOut]:
    """A partner's staff see the batteries of their organisation and below; a customer sees
    those offered to them."""
    return [service.view(session, b) for b in service.list_for(session, caller)]


@router.post(
    BASE,
    response_model=VirtualBatteryOut,
    status_code=201,
    summary="Offer a customer a virtual battery (utility partners)",
)
def create_battery(
    session: DbSession, caller: CallerDep, now: NowDep, body: VirtualBatteryIn
) -> VirtualBatteryOut:
    """The meter must be the customer's house meter and have sent both import and export
    energy; a start date in the past is back-filled from the stored readings."""
    return service.view(session, service.create(session, caller, body, now))


@router.get(f"{BASE}/{{battery_id}}", response_model=VirtualBatteryOut, summary="One")
def get_battery(session: DbSession, caller: CallerDep, battery_id: str) -> VirtualBatteryOut:
    return service.view(session, service.get(session, caller, battery_id, Action.READ))


@router.patch(f"{BASE}/{{battery_id}}", response_model=VirtualBatteryOut, summary="Edit one")
def update_battery(
    session: DbSession, caller: CallerDep, now: NowDep, battery_id: str, body: VirtualBatteryPatch
) -> VirtualBatteryOut:
    """A changed capacity, start or reset date recomputes the ledger from its start."""
    return service.view(session, service.update(session, caller, battery_id, body, now))


@router.delete(f"{BASE}/{{battery_id}}", status_code=204, summary="Delete one (audited)")
def delete_battery(session: DbSession, caller: CallerDep, battery_id: str) -> Response:
    service.delete(session, caller, battery_id)
    return Response(status_code=204)


@router.get(
    f"{BASE}/{{battery_id}}/readings",
    response_model=list[IntervalOut],
    summary="The ledger per quarter hour: level and flows (or a CSV download)",
)
def readings(
    session: DbSession,
    caller: CallerDep,
    battery_id: str,
    start_time: Instant,
    end_time: Instant,
    format: Format = "json",
) -> list[IntervalOut] | Response:
    battery = service.get(session, caller, battery_id, Action.READ)
    rows = ledger_views.intervals(session, battery, start_time, end_time)
    if format == "csv":
        return ledger_views.interval_table(rows).download(f"virtual-battery-{battery.id}.csv")
    return [
        IntervalOut(
            start=ledger_views.start_of(r),
            import_wh=r.import_wh,
            export_wh=r.export_wh,
            level_wh=r.level_wh,
            charged_wh=r.charged_wh,
            discharged_wh=r.discharged_wh,
            spilled_wh=r.spilled_wh,
            grid_import_wh=r.grid_import_wh,
            forfeited_wh=r.forfeited_wh,
        )
        for r in rows
    ]


@router.get(
    f"{BASE}/{{battery_id}}/days.csv",
    summary="The ledger per day of the site's calendar, as CSV",
    response_class=Response,
)
def days_csv(
    session: DbSession, caller: CallerDep, battery_id: str, start_time: Instant, end_time: Instant
) -> Response:
    battery = service.get(session, caller, battery_id, Action.READ)
    rows = ledger_views.intervals(session, battery, start_time, end_time)
    tz = service.site_zone_name(session, battery)
    periods = ledger_views.grouped(rows, "month", tz)
    return ledger_views.day_table(periods, tz).download(f"virtual-battery-{battery.id}-days.csv")


@router.get(
    f"{BASE}/{{battery_id}}/energy",
    response_model=EnergyOut,
    summary="Charged and discharged per hour, day or month; grid import saved and its worth",
)
def energy(
    session: DbSession,
    caller: CallerDep,
    battery_id: str,
    period: Annotated[Literal["day", "month", "year"], Query()],
    date: Annotated[date, Query(description="a day of the period, site calendar")],
) -> EnergyOut:
    battery = service.get(session, caller, battery_id, Action.READ)
    return ledger_views.energy(session, battery, period, date)


@router.get(
    "/api/v1/orgs/{org_id}/market-partner",
    response_model=MarketPartnerOut | None,
    summary="A utility partner's market-partner ids for MSCONS",
)
def get_market_partner(
    session: DbSession, caller: CallerDep, org_id: str
) -> MarketPartnerOut | None:
    row = service.market_partner(session, caller, org_id)
    if row is None:
        return None
    return MarketPartnerOut(
        org_id=row.org_id,
        sender_id=row.sender_id,
        receiver_id=row.receiver_id,
        format_version=row.format_version,
    )


@router.put(
    "/api/v1/orgs/{org_id}/market-partner",
    response_model=MarketPartnerOut,
    summary="Set a utility partner's market-partner ids and MSCONS version",
)
def put_market_partner(
    session: DbSession, caller: CallerDep, now: NowDep, org_id: str, body: MarketPartnerIn
) -> MarketPartnerOut:
    row = service.set_market_partner(session, caller, org_id, body, now)
    return MarketPartnerOut(
        org_id=row.org_id,
        sender_id=row.sender_id,
        receiver_id=row.receiver_id,
        format_version=row.format_version,
    )


@router.get(
    f"{BASE}/{{battery_id}}/mscons",
    summary="MSCONS of a local day: the quarter-hour load profile or the closing level",
    response_class=Response,
)
def mscons_download(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    battery_id: str,
    kind: Annotated[Literal["load_profile", "readings"], Query()],
    date: Annotated[date, Query(description="a day of the site's calendar")],
) -> Response:
    """Needs the partner's market-partner ids; the file is named by the EDI@Energy convention."""
    battery = service.get(session, caller, battery_id, Action.READ)
    doc = exports.mscons_file(session, battery, kind, date, now)
    return Response(
        doc.text.encode("iso-8859-1"),
        media_type="text/plain; charset=iso-8859-1",
        headers={"Content-Disposition": f'attachment; filename="{doc.filename}"'},
    )
