"""Whether a dynamic (market) tariff has prices for the site's tomorrow: the one check behind the
portal's question before saving ("No market prices cover ... yet") and the API's warning on a
tariff read or saved (``TariffOut.warnings``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.app.tariffs import market_status
from voltfleet.app.tariffs.page_text import site_midnight, site_today
from voltfleet.store.models import Site

NO_PRICES_TOMORROW = "no_prices_tomorrow"


def missing_tomorrow(
    session: Session, site: Site, source: str, area: str, now: datetime
) -> date | None:
    """The site's local tomorrow at ``now`` when the stored prices of (``source``, ``area``) do
    not cover all of it, else None."""
    tomorrow = site_today(site, now) + timedelta(days=1)
    start = site_midnight(site, tomorrow)
    end = site_midnight(site, tomorrow + timedelta(days=1))
    return None if market_status.covers_day(session, source, area, start, end) else tomorrow


def in_force_tomorrow(
    site: Site, valid_from: Sequence[tuple[str, str, date]], now: datetime
) -> set[str]:
    """Of versions (id, direction, valid_from), the ids of those in force on the site's
    tomorrow: per direction, the latest valid from tomorrow or before."""
    tomorrow = site_today(site, now) + timedelta(days=1)
    best: dict[str, tuple[date, str]] = {}
    for version_id, direction, start in valid_from:
        if start <= tomorrow and (direction not in best or start > best[direction][0]):
            best[direction] = (start, version_id)
    return {version_id for _, version_id in best.values()}
