"""Tariffs of a site and the prices they give: the contract integrators build on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.instants import Instant
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tariffs import repository, service
from voltfleet.app.tariffs.convert import from_definition
from voltfleet.app.tariffs.schemas import (
    Direction,
    MarketPricesIn,
    RateOut,
    RatesOut,
    SetByOut,
    TariffDirection,
    TariffIn,
    TariffOut,
    TariffWarningOut,
)
from voltfleet.app.tariffs.set_by import SetBy, setters, tariff_site
from voltfleet.app.tariffs.tomorrow import NO_PRICES_TOMORROW, in_force_tomorrow, missing_tomorrow
from voltfleet.domain.access import Action
from voltfleet.domain.tariffs import from_us
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion as TariffRow
from voltfleet.usecases.errors import Forbidden

router = APIRouter(prefix="/api/v1", tags=["tariffs and prices"])

StartTime = Annotated[
    Instant, Query(description="UTC instant with offset, e.g. 2026-03-01T00:00:00Z")
]
EndTime = Annotated[Instant, Query(description="exclusive")]


def tariff_out(
    row: TariffRow,
    by: dict[str, SetBy] | None = None,
    warnings: list[TariffWarningOut] | None = None,
) -> TariffOut:
    body = from_definition(row.valid_from, row.definition)
    who = (by or {}).get(row.created_by or "")
    return TariffOut(
        **body.model_dump(),
        id=row.id,
        direction=row.direction,  # type: ignore[arg-type]
        created_at=row.created_at,
        set_by=SetByOut(user_id=who.user_id, name=who.name, role=who.role) if who else None,
        warnings=warnings or [],
    )


def _warnings(
    session: Session, site: Site, body: TariffIn, now: datetime
) -> list[TariffWarningOut]:
    """The warning of a market tariff with no stored prices for the site's tomorrow (the check
    the portal asks with before saving: app/tariffs/tomorrow.py)."""
    if body.kind != "market":
        return []
    day = missing_tomorrow(session, site, body.source or "", body.area or "", now)
    if day is None:
        return []
    return [
        TariffWarningOut(
            code=NO_PRICES_TOMORROW,
            message=f"no {body.source} prices for {body.area} cover {day.isoformat()} (the "
            "site's tomorrow) yet: until they are fetched, that day is priced without them",
            day=day,
        )
    ]


@router.get(
    "/sites/{site_id}/tariffs",
    response_model=list[TariffOut],
    summary="A site's tariff versions (history kept)",
)
def list_tariffs(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    site_id: str,
    direction: TariffDirection | None = None,
) -> list[TariffOut]:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    rows = repository.tariff_rows(session, site.id, direction)
    by = setters(session, rows)
    current = in_force_tomorrow(site, [(r.id, r.direction, r.valid_from) for r in rows], now)
    out = []
    for r in rows:
        warn = []
        if r.id in current and r.kind == "market":
            warn = _warnings(session, site, from_definition(r.valid_from, r.definition), now)
        out.append(tariff_out(r, by, warn))
    return out


@router.put(
    "/sites/{site_id}/tariffs/{direction}",
    response_model=TariffOut,
    summary="Set the IMPORT, EXPORT or LOCAL tariff from a date",
)
def set_tariff(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    site_id: str,
    direction: Annotated[TariffDirection, Path()],
    body: TariffIn,
) -> TariffOut:
    """Adds a version valid from `valid_from` (a version with the same date is replaced).
    Time-of-use periods must cover the year and slots the day, with no gap and no overlap;
    the error names the period and slot at fault."""
    site = tariff_site(session, caller, site_id, Action.UPDATE)
    row = service.set_tariff(session, caller, site, direction, body, now)
    return tariff_out(row, setters(session, [row]), _warnings(session, site, body, now))


@router.delete("/sites/{site_id}/tariffs/{tariff_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tariff(
    session: DbSession, caller: CallerDep, now: NowDep, site_id: str, tariff_id: str
) -> None:
    site = tariff_site(session, caller, site_id, Action.DELETE)
    service.delete_tariff(session, caller, site, tariff_id, now)


@router.get("/sites/{site_id}/rates", response_model=RatesOut, summary="Price series")
def rates(
    session: DbSession,
    caller: CallerDep,
    site_id: str,
    start_time: StartTime,
    end_time: EndTime,
    direction: Direction | None = "IMPORT",
    resolution_minutes: Annotated[int, Query(ge=1, le=1440)] = 15,
) -> RatesOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    d = direction or "IMPORT"
    series = service.rates(
        session, site, d, start_time, end_time, timedelta(minutes=resolution_minutes)
    )
    return RatesOut(
        site_id=site.id,
        direction=d,
        currency=series.currency,
        resolution_minutes=resolution_minutes,
        rates=[
            RateOut(start_time=from_us(int(a)), end_time=from_us(int(b)), price_per_kwh=float(p))
            for a, b, p in zip(series.starts_us, series.ends_us, series.prices_per_kwh, strict=True)
        ],
    )


class Stored(BaseModel):
    stored: int


@router.put(
    "/market-prices/{source}/{area}",
    response_model=Stored,
    summary="Load day-ahead prices of a market area (superusers)",
)
def store_market_prices(
    session: DbSession, caller: CallerDep, now: NowDep, source: str, area: str, body: MarketPricesIn
) -> Stored:
    """For deployments that receive prices from elsewhere; prices are in `currency` per kWh."""
    if not caller.superuser:
        raise Forbidden("only a platform superuser may load market prices")
    return Stored(stored=service.store_market_prices(session, caller, source, area, body, now))
