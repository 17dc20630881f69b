"""How the day-ahead price fetch of each market area is going, for the people who set automatic
tariffs and for the operator.

* Every fetch (the periodic job, ``jobs/platform.py``) records its attempt: when, whether it
  worked, and until when prices of the area are now known (``record``).
* A failed fetch opens an operator alarm on the area (logged at ERROR once, shown on the
  operator's market page and on the tariff page); a later success closes it.
* At the configured hour (``market_missing_alarm_hour_utc``, after the day-ahead auction and the
  usual publication) a check opens the alarm for every configured area whose prices for
  tomorrow (the area's own delivery day) are still missing (``check_tomorrow``).
* Before an automatic tariff is saved, ``covers_day`` says whether the stored prices cover the
  site's next day, so the page can ask for a confirmation instead of saving a tariff that cannot
  price tomorrow.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from voltfleet.market import AREAS
from voltfleet.store.money_models import MarketPriceRow
from voltfleet.store.rates_models import MarketFetchRow

log = logging.getLogger("voltfleet.market")


def _row(session: Session, source: str, area: str) -> MarketFetchRow:
    row = session.scalar(
        select(MarketFetchRow).where(MarketFetchRow.source == source, MarketFetchRow.area == area)
    )
    if row is None:
        row = MarketFetchRow(source=source, area=area, last_error="", alarm_reason="")
        session.add(row)
    return row


def known_until(session: Session, source: str, area: str) -> datetime | None:
    """The end of the latest stored price of (source, area)."""
    return session.scalar(
        select(func.max(MarketPriceRow.end)).where(
            MarketPriceRow.source == source, MarketPriceRow.area == area
        )
    )


def _open(row: MarketFetchRow, reason: str, now: datetime) -> None:
    if row.alarm_since is None:
        log.error("market prices %s:%s: %s", row.source, row.area, reason)
        row.alarm_since = now
    row.alarm_reason = reason


def record(session: Session, source: str, area: str, now: datetime, error: str = "") -> None:
    """Record a fetch of (source, area) at ``now``: failed with ``error``, or worked."""
    row = _row(session, source, area)
    row.last_attempt_at = now
    row.covered_until = known_until(session, source, area)
    if error:
        row.last_error = error
        _open(row, f"the fetch failed: {error}", now)
    else:
        row.last_success_at = now
        row.last_error = ""
        row.alarm_since, row.alarm_reason = None, ""
    session.flush()


def tomorrow_end(area: str, now: datetime) -> tuple[str, datetime]:
    """(tomorrow's date, the instant it ends) in the area's delivery zone."""
    tz = ZoneInfo(AREAS[area].timezone) if area in AREAS else ZoneInfo("UTC")
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    end = datetime.combine(tomorrow + timedelta(days=1), time(0), tz)
    return tomorrow.isoformat(), end


def check_tomorrow(session: Session, pairs: list[tuple[str, str]], now: datetime) -> list[str]:
    """Open the alarm of every (source, area) whose prices for tomorrow are missing at ``now``;
    the ``source:area`` of those."""
    missing = []
    for source, area in pairs:
        day, end = tomorrow_end(area, now)
        until = known_until(session, source, area)
        if until is not None and until >= end:
            continue
        row = _row(session, source, area)
        row.covered_until = until
        _open(row, f"prices for {day} are still missing at {now:%H:%M} UTC", now)
        missing.append(f"{source}:{area}")
    session.flush()
    return missing


def covers_day(session: Session, source: str, area: str, start: datetime, end: datetime) -> bool:
    """Whether stored prices of (source, area) cover ``[start, end)`` without a gap."""
    rows = session.execute(
        select(MarketPriceRow.start, MarketPriceRow.end)
        .where(
            MarketPriceRow.source == source,
            MarketPriceRow.area == area,
            MarketPriceRow.end > start,
            MarketPriceRow.start < end,
        )
        .order_by(MarketPriceRow.start)
    )
    at = start
    for a, b in rows:
        if a > at:
            return False
        at = max(at, b)
    return at >= end


@dataclass(frozen=True)
class AreaStatus:
    source: str
    area: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    covered_until: datetime | None
    last_error: str
    alarm_since: datetime | None
    alarm_reason: str


def statuses(session: Session, area: str | None = None) -> list[AreaStatus]:
    """The fetch state of every (source, area) (of one area), alarms first."""
    stmt = select(MarketFetchRow)
    if area is not None:
        stmt = stmt.where(MarketFetchRow.area == area)
    rows = list(session.scalars(stmt))
    rows.sort(key=lambda r: (r.alarm_since is None, r.area, r.source))
    return [
        AreaStatus(
            r.source,
            r.area,
            r.last_attempt_at,
            r.last_success_at,
            r.covered_until,
            r.last_error,
            r.alarm_since,
            r.alarm_reason,
        )
        for r in rows
    ]


def market_fetch_metrics(conn: Connection) -> Iterator[Metric]:
    """The operator's alarm for Prometheus (app/ops/metrics.py): per (source, area), 1 while its
    alarm is open, and when its prices were last fetched."""
    alarm = GaugeMetricFamily(
        "voltfleet_market_price_alarm",
        "1 while the day-ahead price fetch of an area failed or tomorrow's prices are missing",
        labels=["source", "area"],
    )
    fetched = GaugeMetricFamily(
        "voltfleet_market_prices_last_success_timestamp_seconds",
        "When the day-ahead prices of an area were last fetched (Unix time)",
        labels=["source", "area"],
    )
    f = MarketFetchRow
    rows = conn.execute(select(f.source, f.area, f.alarm_since, f.last_success_at))
    for source, area, since, success in rows:
        alarm.add_metric([source, area], 0 if since is None else 1)
        if success is not None:
            fetched.add_metric([source, area], success.timestamp())
    yield alarm
    yield fetched
