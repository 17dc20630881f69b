"""The tariffs use case (usecases/tariffs.py) for the HTTP and portal edges and the app's other
services: a request's tariff read into a ``Draft``, a repository built from the session and the
caller, the clock's ``now`` passed on. Never commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.tariffs.convert import DefinitionError, definition, to_domain
from voltfleet.app.tariffs.repository import tariff_repository
from voltfleet.app.tariffs.schemas import MarketPricesIn, TariffIn
from voltfleet.domain.tariffs import RateSeries
from voltfleet.market import MarketPrice
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion as TariffRow
from voltfleet.usecases import tariffs as usecase
from voltfleet.usecases.errors import Invalid
from voltfleet.usecases.tariffs import MAX_WINDOW, check_window, invalid_tariff

__all__ = [
    "MAX_WINDOW",
    "check_window",
    "delete_tariff",
    "draft",
    "invalid_tariff",
    "rates",
    "set_tariff",
    "store_market_prices",
]


def draft(body: TariffIn, country: str) -> usecase.Draft:
    """The request's tariff in the use case's words, or ``Invalid`` when it cannot be read."""
    try:
        tariff = to_domain(body, country)
    except DefinitionError as exc:
        raise Invalid(str(exc)) from exc
    return usecase.Draft(body.valid_from, body.kind, body.currency, tariff, definition(body))


def set_tariff(
    session: Session, caller: Caller, site: Site, direction: str, body: TariffIn, now: datetime
) -> TariffRow:
    """Add a version (or replace the one with the same ``valid_from``): usecases.tariffs."""
    repo = tariff_repository(session, caller)
    return usecase.set_tariff(repo, site, direction, draft(body, site.country), now)


def delete_tariff(
    session: Session, caller: Caller, site: Site, tariff_id: str, now: datetime
) -> None:
    usecase.delete_tariff(tariff_repository(session, caller), site, tariff_id, now)


def rates(
    session: Session,
    site: Site,
    direction: str,
    start: datetime,
    end: datetime,
    resolution: timedelta | None = timedelta(minutes=15),
) -> RateSeries:
    """The site's price series for a direction over [start, end)."""
    return usecase.rates(tariff_repository(session), site, direction, start, end, resolution)


def store_market_prices(
    session: Session,
    caller: Caller,
    source: str,
    area: str,
    body: MarketPricesIn,
    now: datetime,
) -> int:
    """Upsert market prices of an area (a superuser loads them for sources out of reach)."""
    for p in body.prices:
        check_window(p.start_time, p.end_time, usecase.MARKET_PRICE_WINDOW)
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
    return usecase.store_market_prices(
        tariff_repository(session, caller), source, area, prices, now
    )
