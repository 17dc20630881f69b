"""Loading a site's tariff history and market prices (the site is already scope-checked)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from threading import Lock

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.tariffs.convert import from_definition, to_domain
from voltfleet.domain.tariffs import (
    FixedTariff,
    PriceInterval,
    Tariff,
    TariffHistory,
    TariffVersion,
)
from voltfleet.store.models import Site
from voltfleet.store.money_models import MarketPriceRow
from voltfleet.store.money_models import TariffVersion as TariffRow


def tariff_rows(session: Session, site_id: str, direction: str | None = None) -> list[TariffRow]:
    stmt = select(TariffRow).where(TariffRow.site_id == site_id)
    if direction:
        stmt = stmt.where(TariffRow.direction == direction)
    return list(session.scalars(stmt.order_by(TariffRow.direction, TariffRow.valid_from)))


class ParsedTariffs:
    """The domain tariff of each stored version, parsed once (a bounded LRU). A version is never
    changed in place (setting one with the same date replaces its row), so its id and creation
    time, with the site's country (the default holiday calendar), name one parse."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple[str, datetime, str], Tariff] = OrderedDict()
        self._lock = Lock()

    def get(self, row: TariffRow, country: str) -> Tariff:
        key = (row.id, row.created_at, country)
        with self._lock:
            tariff = self._cache.get(key)
            if tariff is not None:
                self._cache.move_to_end(key)
                return tariff
        tariff = to_domain(from_definition(row.valid_from, row.definition), country)
        with self._lock:
            self._cache[key] = tariff
            while len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
        return tariff


parsed = ParsedTariffs()


def history(session: Session, site: Site, direction: str) -> TariffHistory | None:
    """The site's tariff history for a direction; LOCAL is free (0) unless a tariff is set."""
    rows = tariff_rows(session, site.id, direction)
    if not rows:
        if direction == "LOCAL":
            return TariffHistory.always(FixedTariff(site.currency, 0.0))
        return None
    versions = (TariffVersion(r.valid_from, parsed.get(r, site.country)) for r in rows)
    return TariffHistory(tuple(versions))


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
