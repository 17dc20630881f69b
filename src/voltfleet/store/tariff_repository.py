"""The tariffs use case's persistence (usecases.tariffs.TariffRepository) on SQLAlchemy: a
site's tariff versions, market prices, and the audit rows of what the repository's person did.
Joins the caller's session; never commits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from voltfleet.domain.tariffs import (
    PriceInterval,
    Tariff,
    TariffHistory,
    TariffVersion,
)
from voltfleet.store import audit_entries
from voltfleet.store.models import User
from voltfleet.store.money_models import MarketPriceRow
from voltfleet.store.money_models import TariffVersion as TariffRow
from voltfleet.usecases.tariffs import Draft, MarketPriceLike, SiteLike

# A stored version's domain tariff, for the site's country (the default holiday calendar).
Parse = Callable[[TariffRow, str], Tariff]


def tariff_rows(session: Session, site_id: str, direction: str | None = None) -> list[TariffRow]:
    stmt = select(TariffRow).where(TariffRow.site_id == site_id)
    if direction:
        stmt = stmt.where(TariffRow.direction == direction)
    return list(session.scalars(stmt.order_by(TariffRow.direction, TariffRow.valid_from)))


def market_price_rows(
    session: Session, source: str, area: str, start: datetime, end: datetime
) -> list[PriceInterval]:
    rows = session.execute(
        select(MarketPriceRow.start, MarketPriceRow.end, MarketPriceRow.price_per_kwh)
        .where(MarketPriceRow.source == source, MarketPriceRow.area == area)
        .where(MarketPriceRow.end > start, MarketPriceRow.start < end)
        .order_by(MarketPriceRow.start)
    )
    return [PriceInterval(a, b, p) for a, b, p in rows]


def store_market_price_rows(
    session: Session, source: str, area: str, prices: Sequence[MarketPriceLike]
) -> int:
    """Upsert prices of (source, area); ``area`` is the name tariffs use (e.g. "DE")."""
    if not prices:
        return 0
    session.execute(
        delete(MarketPriceRow).where(
            MarketPriceRow.source == source,
            MarketPriceRow.area == area,
            MarketPriceRow.start.in_([p.start for p in prices]),
        )
    )
    session.add_all(
        MarketPriceRow(
            source=source,
            area=area,
            start=p.start,
            end=p.end,
            price_per_kwh=p.price_per_kwh,
            currency=p.currency,
        )
        for p in prices
    )
    return len(prices)


class SqlTariffRepository:
    """``usecases.tariffs.TariffRepository`` in ``session``'s transaction, acting for ``actor``
    (None: no person, e.g. a job) from ``address``."""

    def __init__(
        self, session: Session, parse: Parse, actor: User | None = None, address: str = ""
    ) -> None:
        self.session = session
        self.parse = parse
        self.actor = actor
        self.address = address

    def versions(self, site_id: str, direction: str | None = None) -> list[TariffRow]:
        return tariff_rows(self.session, site_id, direction)

    def history(self, site: SiteLike, direction: str) -> TariffHistory | None:
        """The site's tariff history for a direction, None when it has no version."""
        rows = tariff_rows(self.session, site.id, direction)
        if not rows:
            return None
        versions = (TariffVersion(r.valid_from, self.parse(r, site.country)) for r in rows)
        return TariffHistory(tuple(versions))

    def market_prices(
        self, source: str, area: str, start: datetime, end: datetime
    ) -> list[PriceInterval]:
        return market_price_rows(self.session, source, area, start, end)

    def add(self, site: SiteLike, direction: str, draft: Draft, now: datetime) -> TariffRow:
        row = TariffRow(
            site_id=site.id,
            direction=direction,
            valid_from=draft.valid_from,
            kind=draft.kind,
            currency=draft.currency,
            definition=dict(draft.definition),
            created_at=now,
            created_by=self.actor.id if self.actor else None,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def remove(self, version: TariffRow) -> None:
        self.session.delete(version)
        self.session.flush()

    def store_market_prices(self, source: str, area: str, prices: Sequence[MarketPriceLike]) -> int:
        return store_market_price_rows(self.session, source, area, prices)

    def audit(
        self,
        action: str,
        object_type: str,
        object_id: str,
        org_id: str | None,
        detail: Mapping[str, Any],
        now: datetime,
    ) -> None:
        audit_entries.add(
            self.session,
            actor=self.actor,
            address=self.address,
            action=action,
            object_type=object_type,
            object_id=object_id,
            org_id=org_id,
            detail=detail,
            at=now,
        )
