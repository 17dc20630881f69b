"""Loading a site's tariff history and market prices (the site is already scope-checked)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.tariffs.convert import from_definition, to_domain
from voltfleet.domain.tariffs import FixedTariff, PriceInterval, TariffHistory, TariffVersion
from voltfleet.store.models import Site
from voltfleet.store.money_models import MarketPriceRow
from voltfleet.store.money_models import TariffVersion as TariffRow


def tariff_rows(session: Session, site_id: str, direction: str | None = None) -> list[TariffRow]:
    stmt = select(TariffRow).where(TariffRow.site_id == site_id)
    if direction:
        stmt = stmt.where(TariffRow.direction == direction)
    return list(session.scalars(stmt.order_by(TariffRow.direction, TariffRow.valid_from)))


def history(session: Session, site: Site, direction: str) -> TariffHistory | None:
    """The site's tariff history for a direction; LOCAL is free (0) unless a tariff is set."""
    rows = tariff_rows(session, site.id, direction)
    if not rows:
        if direction == "LOCAL":
            return TariffHistory.always(FixedTariff(site.currency, 0.0))
        return None
    return TariffHistory(
        tuple(
            TariffVersion(
                r.valid_from, to_domain(from_definition(r.valid_from, r.definition), site.country)
            )
            for r in rows
        )
    )


def market_prices(
    session: Session, source: str, area: str, start: datetime, end: datetime
) -> list[PriceInterval]:
    rows = session.execute(
        select(MarketPriceRow.start, MarketPriceRow.end, MarketPriceRow.price_per_kwh)
        .where(MarketPriceRow.source == source, MarketPriceRow.area == area)
        .where(MarketPriceRow.end > start, MarketPriceRow.start < end)
        .order_by(MarketPriceRow.start)
    )
    return [PriceInterval(a, b, p) for a, b, p in rows]
