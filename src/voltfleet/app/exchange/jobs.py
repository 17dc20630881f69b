"""The money jobs: the daily exchange reference rates, and the check that tomorrow's day-ahead
prices arrived (registered in jobs/platform.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from voltfleet.app.exchange import rates
from voltfleet.app.tariffs import market_status
from voltfleet.ports import Cron, JobSpec
from voltfleet.settings import Settings
from voltfleet.store.db import Database

log = logging.getLogger("voltfleet.jobs")

EXCHANGE_RATES = "exchange-rates"  # the ECB's euro reference rates, daily after 16:00 CET
MARKET_PRICE_CHECK = "market-price-check"  # tomorrow's day-ahead prices there by the hour?
# The ECB publishes around 16:00 CET (15:00 UTC in winter, 14:00 UTC in summer): fetch after.
EXCHANGE_RATES_CRON = "30 15 * * *"


def exchange_rates(db: Database, url: str, now: datetime) -> int:
    """Fetch and store the day's ECB reference rates; how many rates were stored."""
    with db.session() as session:
        n = rates.fetch_and_store(session, url)
    log.info("stored %d exchange reference rates", n)
    return n


def market_price_check(db: Database, settings: Settings, now: datetime) -> list[str]:
    """Open the operator alarm of every configured area whose prices for tomorrow are missing."""
    with db.session() as session:
        return market_status.check_tomorrow(session, settings.market_source_pairs, now)


def specs(db: Database, settings: Settings) -> list[JobSpec]:
    """The money jobs this deployment runs: the rates when a URL is set, the check when market
    sources are configured."""
    out = []
    if settings.exchange_rates_url:
        url = settings.exchange_rates_url
        run = lambda now: exchange_rates(db, url, now)  # noqa: E731
        out.append(JobSpec(EXCHANGE_RATES, run, Cron(EXCHANGE_RATES_CRON)))
    if settings.market_source_pairs:
        hour = settings.market_missing_alarm_hour_utc
        check = lambda now: market_price_check(db, settings, now)  # noqa: E731
        out.append(JobSpec(MARKET_PRICE_CHECK, check, Cron(f"0 {hour} * * *")))
    return out
