"""Alarms over HTTP: the catalogue of codes, the list (and its CSV), one alarm, acknowledge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from voltfleet.app.alarms.notify_endpoints import router as notify_router
from voltfleet.app.alarms.repository import AlarmFilters, alarm_table, out, translated_titles
from voltfleet.app.alarms.schemas import AlarmCodeOut, AlarmOut, Status
from voltfleet.app.alarms.service import repository
from voltfleet.app.alarms.zones import zone
from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.instants import Instant
from voltfleet.app.pagination import Page, Paging, window
from voltfleet.app.tables import Format
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.alarms import CATALOGUE, LEVEL_ORDER
from voltfleet.usecases import alarms as usecase

router = APIRouter(tags=["alarms"])


@router.get(
    "/api/v1/alarms/codes",
    response_model=list[AlarmCodeOut],
    summary="The alarm codes a gateway may report, with severity and what to do",
)
def alarm_codes(caller: CallerDep) -> list[AlarmCodeOut]:
    """The same for everyone: not about any tenant's data. Most severe first."""
    return [
        AlarmCodeOut(
            code=c.code,
            device_kind=c.device_kind.value,
            severity=c.severity.value,
            level=c.level.value,
            title=c.title,
            suggested_action=c.action,
        )
        for c in sorted(CATALOGUE.values(), key=lambda c: (LEVEL_ORDER[c.level], c.code))
    ]


@router.get(
    "/api/v1/alarms",
    response_model=Page[AlarmOut],
    summary="Device alarms of the sites you see, newest first (or a CSV download)",
)
def list_alarms(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    site_id: str | None = None,
    device_id: str | None = None,
    severity: Annotated[str | None, Query(description="major | minor | warning")] = None,
    status: Annotated[Status, Query(description="active | cleared | all")] = "all",
    code: str | None = None,
    since: Annotated[
        Instant | None, Query(description="alarms still active at or after this time")
    ] = None,
    until: Annotated[Instant | None, Query(description="alarms raised before this time")] = None,
    level: Annotated[str | None, Query(description="urgent | important | common | prompt")] = None,
    serial: Annotated[
        str | None, Query(max_length=64, description="part of the device's serial number")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="part of the alarm info: code, title or message"),
    ] = None,
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA zone of the CSV's times (UTC)")
    ] = None,
    format: Format = "json",
) -> Page[AlarmOut] | Response:
    """``since``/``until`` select the alarms that were active at some time in [since, until).
    ``format=csv`` downloads every matching alarm (at most 50,000), ignoring the paging, with
    its times in ``tz`` (the column headers name it)."""
    caller.require(Kind.DEVICE, Action.LIST)
    repo = repository(session, caller)
    filters = AlarmFilters(
        site_id,
        device_id,
        severity,
        status,
        code,
        since,
        until,
        level=level,
        serial=serial,
        text=q,
        titles=translated_titles(),
    )
    if format == "csv":
        every = out(usecase.all_alarms(repo, filters))
        return alarm_table(every, zone(tz)).download("alarms.csv")
    offset, limit = window(paging)
    rows, total = usecase.list_alarms(repo, caller, filters, offset=offset, limit=limit)
    return Page(items=out(rows), total=total, page=paging.page, page_size=paging.page_size)


@router.get("/api/v1/alarms/{alarm_id}", response_model=AlarmOut, summary="One alarm")
def get_alarm(session: DbSession, caller: CallerDep, alarm_id: str) -> AlarmOut:
    return out([usecase.get_alarm(repository(session, caller), caller, alarm_id)])[0]


@router.post(
    "/api/v1/alarms/{alarm_id}/acknowledge",
    response_model=AlarmOut,
    summary="Acknowledge an alarm (O&M engineers and administrators)",
)
def acknowledge_alarm(
    session: DbSession, caller: CallerDep, now: NowDep, alarm_id: str
) -> AlarmOut:
    """Records who has seen it and when (audited). The alarm stays active until the device
    clears it; acknowledging it again changes nothing."""
    repo = repository(session, caller)
    alarm = usecase.acknowledge(repo, caller, alarm_id, now)
    return out(repo.views([alarm]))[0]


# The subscriptions and their delivery log (app/alarms/notify_endpoints.py).
router.include_router(notify_router)
