"""Tariff versions of a site and the price series they give. Never commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.tariffs import market_prices, repository
from voltfleet.app.tariffs.convert import DefinitionError, definition, to_domain
from voltfleet.app.tariffs.schemas import MarketPricesIn, TariffIn
from voltfleet.domain.tariffs import (
    MarketTariff,
    MissingPriceError,
    PriceInterval,
    RateSeries,
    TariffIssue,
    TariffValidationError,
    check_tariff,
    price_series,
)
from voltfleet.domain.tariffs.limits import TariffLimitError, check_limits
from voltfleet.market import MarketPrice
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion as TariffRow
from voltfleet.usecases.errors import Conflict, Invalid, NotFound, Rejected

MAX_WINDOW = timedelta(days=400)


SLOT_LISTS = {None: "slots", "ALL": "slots", "WEEKDAY": "weekday_slots", "WEEKEND": "weekend_slots"}


def _issue_field(i: TariffIssue) -> str:
    """Where in TariffIn the issue lies, e.g. ``periods.winter.weekday_slots.2``."""
    if i.period is None:
        return "tariff"
    field = f"periods.{i.period}"
    if i.slot_index is not None:
        slots = SLOT_LISTS.get(i.day_kind.value if i.day_kind else None, "slots")
        field += f".{slots}.{i.slot_index}"
    return field


def invalid_tariff(exc: TariffValidationError) -> Rejected:
    return Rejected(
        str(exc),
        [
            {
                k: v
                for k, v in {
                    "field": _issue_field(i),
                    "kind": i.kind.value,
                    "message": i.message,
                    "period": i.period,
                    "day_kind": i.day_kind.value if i.day_kind else None,
                    "slot_index": i.slot_index,
                    "other_slot_index": i.other_slot_index,
                }.items()
                if v is not None
            }
            for i in exc.issues
        ],
        code="invalid_tariff",
    )


def set_tariff(
    session: Session, caller: Caller, site: Site, direction: str, body: TariffIn
) -> TariffRow:
    """Add a version (or replace the one with the same ``valid_from``). Its size, prices and
    date are bounded (domain.tariffs.limits: 400 naming the limit) before it is validated."""
    try:
        tariff = to_domain(body, site.country)
        check_limits(tariff, body.valid_from)
        check_tariff(tariff)
    except (DefinitionError, TariffLimitError) as exc:
        raise Invalid(str(exc)) from exc
    except TariffValidationError as exc:
        raise invalid_tariff(exc) from exc
    existing = [r for r in repository.tariff_rows(session, site.id, direction)]
    other = {r.currency for r in existing if r.valid_from != body.valid_from}
    if other and other != {body.currency}:
        raise Invalid(
            f"currency {body.currency} differs from the site's earlier {direction} tariff "
            f"versions ({', '.join(sorted(other))})"
        )
    for row in existing:
        if row.valid_from == body.valid_from:
            session.delete(row)
            session.flush()
    row = TariffRow(
        site_id=site.id,
        direction=direction,
        valid_from=body.valid_from,
        kind=body.kind,
        currency=body.currency,
        definition=definition(body),
        created_by=caller.user.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=caller.user,
        action="tariff.set",
        object_type="site",
        object_id=site.id,
        org_id=site.org_id,
        address=caller.address,
        detail={
            "direction": direction,
            "valid_from": body.valid_from.isoformat(),
            "kind": body.kind,
        },
    )
    return row


def delete_tariff(session: Session, caller: Caller, site: Site, tariff_id: str) -> None:
    row = session.scalar(
        select(TariffRow).where(TariffRow.id == tariff_id, TariffRow.site_id == site.id)
    )
    if row is None:
        raise NotFound("tariff version")
    audit.record(
        session,
        actor=caller.user,
        action="tariff.delete",
        object_type="site",
        object_id=site.id,
        org_id=site.org_id,
        address=caller.address,
        detail={"direction": row.direction, "valid_from": row.valid_from.isoformat()},
    )
    session.delete(row)


def check_window(start: datetime, end: datetime, max_window: timedelta = MAX_WINDOW) -> None:
    for name, value in (("start_time", start), ("end_time", end)):
        if value.tzinfo is None:
            raise Invalid(f"{name} needs a UTC offset, e.g. 2026-01-01T00:00:00Z")
    if end <= start:
        raise Invalid("end_time must be after start_time")
    if end - start > max_window:
        raise Invalid(f"the window may be at most {max_window.days} days long")


def rates(
    session: Session,
    site: Site,
    direction: str,
    start: datetime,
    end: datetime,
    resolution: timedelta | None = timedelta(minutes=15),
) -> RateSeries:
    """The site's price series for a direction over [start, end)."""
    check_window(start, end)
    hist = repository.history(session, site, direction)
    if hist is None:
        raise Conflict(f"the site has no {direction} tariff: set one first", code="no_tariff")
    market: list[PriceInterval] = []
    for version in hist.versions:
        if isinstance(version.tariff, MarketTariff):
            t = version.tariff
            market += repository.market_prices(session, t.provider, t.area, start, end)
    market.sort(key=lambda p: p.start)
    try:
        return price_series(
            hist, site.timezone, start, end, resolution=resolution, market=_dedupe(market)
        )
    except MissingPriceError as exc:
        raise Conflict(str(exc), code="missing_prices") from exc
    except TariffValidationError as exc:
        raise invalid_tariff(exc) from exc


def _dedupe(prices: list[PriceInterval]) -> list[PriceInterval]:
    out: list[PriceInterval] = []
    for p in prices:
        if out and p.start < out[-1].end:
            continue
        out.append(p)
    return out


def store_market_prices(
    session: Session, caller: Caller, source: str, area: str, body: MarketPricesIn
) -> int:
    """Upsert market prices of an area (a superuser loads them for sources out of reach)."""
    for p in body.prices:
        check_window(p.start_time, p.end_time, timedelta(days=1))
    try:
        prices = [
            MarketPrice(
                p.start_time.astimezone(UTC),
                p.end_time.astimezone(UTC),
                p.price_per_kwh,
                body.currency,
            )
            for p in body.prices
        ]
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    n = market_prices.store(session, source, area, prices)
    audit.record(
        session,
        actor=caller.user,
        action="market_prices.store",
        object_type="market",
        object_id=f"{source}:{area}",
        address=caller.address,
        detail={"count": n},
    )
    return n
