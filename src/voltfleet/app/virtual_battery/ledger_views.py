"""The stored ledger of a virtual battery as its customer and its partner read it: intervals
(JSON and CSV), days (CSV), energy per day/month/year with the grid import saved and its worth
at the site's import tariff."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.tables import Column, Table
from voltfleet.app.tariffs.service import rates
from voltfleet.app.virtual_battery.schemas import EnergyBucket, EnergyOut
from voltfleet.domain.fleet import zone
from voltfleet.domain.virtual_battery import calendar
from voltfleet.store.models import Site
from voltfleet.store.virtual_battery_models import VirtualBattery, VirtualBatteryInterval
from voltfleet.usecases.errors import AppError, Invalid
from voltfleet.usecases.virtual_battery import EPOCH, us_of

MAX_WINDOW = timedelta(days=93)
FLOWS = ("charged_wh", "discharged_wh", "spilled_wh", "grid_import_wh", "forfeited_wh")


def intervals(
    session: Session, battery: VirtualBattery, start: datetime, end: datetime
) -> list[VirtualBatteryInterval]:
    for name, value in (("start_time", start), ("end_time", end)):
        if value.tzinfo is None:
            raise Invalid(f"{name} needs a UTC offset, e.g. 2026-06-01T00:00:00Z")
    if end <= start:
        raise Invalid("end_time must be after start_time")
    if end - start > MAX_WINDOW:
        raise Invalid(f"the window may be at most {MAX_WINDOW.days} days long")
    return list(
        session.scalars(
            select(VirtualBatteryInterval)
            .where(
                VirtualBatteryInterval.battery_id == battery.id,
                VirtualBatteryInterval.start_us >= us_of(start),
                VirtualBatteryInterval.start_us < us_of(end),
            )
            .order_by(VirtualBatteryInterval.start_us)
        )
    )


def start_of(row: VirtualBatteryInterval) -> datetime:
    return EPOCH + timedelta(microseconds=row.start_us)


def _kwh(v: float) -> str:
    return f"{v / 1000:.3f}"


def interval_table(rows: Sequence[VirtualBatteryInterval]) -> Table[VirtualBatteryInterval]:
    """Level and flows per quarter hour (kWh), times in UTC (ISO 8601)."""
    iso = lambda r: start_of(r).isoformat().replace("+00:00", "Z")  # noqa: E731
    return Table(
        [
            Column("start (UTC)", iso),
            Column("import_kwh", lambda r: r.import_wh, _kwh),
            Column("export_kwh", lambda r: r.export_wh, _kwh),
            Column("level_kwh", lambda r: r.level_wh, _kwh),
            Column("charged_kwh", lambda r: r.charged_wh, _kwh),
            Column("discharged_kwh", lambda r: r.discharged_wh, _kwh),
            Column("spilled_kwh", lambda r: r.spilled_wh, _kwh),
            Column("grid_import_kwh", lambda r: r.grid_import_wh, _kwh),
            Column("forfeited_kwh", lambda r: r.forfeited_wh, _kwh),
        ],
        rows,
    )


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC
    charged_wh: float = 0.0
    discharged_wh: float = 0.0
    spilled_wh: float = 0.0
    grid_import_wh: float = 0.0
    forfeited_wh: float = 0.0
    level_wh: float = 0.0  # at the end


def _bucket_start(ts: datetime, period: str, tz: str) -> datetime:
    local = ts.astimezone(zone(tz))
    if period == "day":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    d = local.date() if period == "month" else local.date().replace(day=1)
    return calendar.local_midnight(d, zone(tz))


def grouped(rows: Sequence[VirtualBatteryInterval], period: str, tz: str) -> list[Period]:
    """Sum the flows per hour (period day), day (month) or month (year) of the site's calendar;
    the level is the last interval's."""
    out: dict[datetime, dict[str, float]] = {}
    for r in rows:
        key = _bucket_start(start_of(r), period, tz)
        acc = out.setdefault(key, dict.fromkeys(FLOWS, 0.0))
        for f in FLOWS:
            acc[f] += getattr(r, f)
        acc["level_wh"] = r.level_wh
    return [Period(start=k, **v) for k, v in sorted(out.items())]


def day_table(periods: Sequence[Period], tz: str) -> Table[Period]:
    day = lambda p: p.start.astimezone(zone(tz)).date().isoformat()  # noqa: E731
    return Table(
        [
            Column("date", day),
            Column("level_kwh (end of day)", lambda p: p.level_wh, _kwh),
            Column("charged_kwh", lambda p: p.charged_wh, _kwh),
            Column("discharged_kwh", lambda p: p.discharged_wh, _kwh),
            Column("spilled_kwh", lambda p: p.spilled_wh, _kwh),
            Column("grid_import_kwh", lambda p: p.grid_import_wh, _kwh),
            Column("forfeited_kwh", lambda p: p.forfeited_wh, _kwh),
        ],
        periods,
    )


def check_day(day: date) -> None:
    if not 1971 <= day.year <= 9000:
        raise Invalid(f"date {day.isoformat()} is out of range (1971-9000)")


def period_window(period: str, day: date, tz: str) -> tuple[datetime, datetime]:
    check_day(day)
    z = zone(tz)
    if period == "day":
        first, nxt = day, day + timedelta(days=1)
    elif period == "month":
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
    elif period == "year":
        first, nxt = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    else:
        raise Invalid("period must be day, month or year")
    return calendar.local_midnight(first, z), calendar.local_midnight(nxt, z)


def energy(session: Session, battery: VirtualBattery, period: str, day: date) -> EnergyOut:
    site = session.get(Site, battery.site_id)
    tz = site.timezone if site else "UTC"
    start, end = period_window(period, day, tz)
    rows = list(
        session.scalars(
            select(VirtualBatteryInterval)
            .where(
                VirtualBatteryInterval.battery_id == battery.id,
                VirtualBatteryInterval.start_us >= us_of(start),
                VirtualBatteryInterval.start_us < us_of(end),
            )
            .order_by(VirtualBatteryInterval.start_us)
        )
    )
    periods = grouped(rows, period, tz)
    value, note = _saved_value(session, site, rows, start, end)
    saved = sum(r.discharged_wh for r in rows)
    return EnergyOut(
        period=period,
        start=start,
        end=end,
        buckets=[
            EnergyBucket(
                start=p.start,
                charged_kwh=round(p.charged_wh / 1000, 3),
                discharged_kwh=round(p.discharged_wh / 1000, 3),
                spilled_kwh=round(p.spilled_wh / 1000, 3),
                grid_import_kwh=round(p.grid_import_wh / 1000, 3),
                level_kwh=round(p.level_wh / 1000, 3),
            )
            for p in periods
        ],
        charged_kwh=round(sum(r.charged_wh for r in rows) / 1000, 3),
        discharged_kwh=round(saved / 1000, 3),
        saved_import_kwh=round(saved / 1000, 3),
        saved_value=value,
        currency=site.currency if site else "EUR",
        saved_value_note=note,
    )


def _saved_value(
    session: Session,
    site: Site | None,
    rows: Sequence[VirtualBatteryInterval],
    start: datetime,
    end: datetime,
) -> tuple[float | None, str]:
    """The discharged energy at the import price of its quarter hour (the site's tariff)."""
    if not rows:
        return 0.0, ""
    if site is None:
        return None, "no site"
    try:
        series = rates(session, site, "IMPORT", start, end)
    except AppError as exc:
        return None, str(exc)
    us = np.array([r.start_us for r in rows], dtype=np.int64)
    wh = np.array([r.discharged_wh for r in rows])
    k = np.searchsorted(series.starts_us, us, side="right") - 1
    ok = (k >= 0) & (us < series.ends_us[np.clip(k, 0, None)])
    prices = np.where(ok, series.prices_per_kwh[np.clip(k, 0, None)], 0.0)
    return round(float(np.sum(wh / 1000 * prices)), 2), ""
