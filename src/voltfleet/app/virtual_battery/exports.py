"""A virtual battery's ledger as files for market communication and spreadsheets: MSCONS (a
load profile of a local day's quarter hours, daily readings of the level) and the CSVs, on
demand (the API) and every night (the export job, into the data directory)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.virtual_battery import ledger_views
from voltfleet.domain.fleet import zone
from voltfleet.domain.virtual_battery import calendar
from voltfleet.protocols.edifact import mscons
from voltfleet.store.models import Site
from voltfleet.store.virtual_battery_models import MarketPartner, VirtualBattery
from voltfleet.usecases.errors import Conflict

KINDS = ("load_profile", "readings")


def location_id(battery: VirtualBattery) -> str:
    """LOC+172 takes a metering-point id of 33 characters; a virtual battery has none of the
    grid's, so it is 'V' and the battery's id (32 hexadecimal digits)."""
    return "V" + battery.id.replace("-", "").upper()


def partners(session: Session, battery: VirtualBattery) -> mscons.Partners:
    row = session.get(MarketPartner, battery.org_id)
    if row is None or not row.sender_id or not row.receiver_id:
        raise Conflict(
            "the partner has no market-partner ids: set them first "
            "(PUT /api/v1/orgs/{org_id}/market-partner)",
            code="no_market_partner",
        )
    return mscons.Partners(row.sender_id, row.receiver_id, row.format_version)


def _reference() -> str:
    return secrets.token_hex(7).upper()  # 14 characters, UNB 0020's length


def _day(session: Session, battery: VirtualBattery, day: date) -> tuple[str, datetime, datetime]:
    site = session.get(Site, battery.site_id)
    tz = site.timezone if site else "UTC"
    z = zone(tz)
    return tz, calendar.local_midnight(day, z), calendar.local_midnight(day + timedelta(days=1), z)


def mscons_file(
    session: Session, battery: VirtualBattery, kind: str, day: date, now: datetime
) -> mscons.Document:
    """The MSCONS of one local day: its 92, 96 or 100 quarter hours, or its closing level."""
    ledger_views.check_day(day)
    p = partners(session, battery)
    _tz, start, end = _day(session, battery, day)
    rows = ledger_views.intervals(session, battery, start, end)
    n = int((end - start).total_seconds()) // calendar.INTERVAL_S
    if len(rows) < n:
        raise Conflict(
            f"the ledger of {day.isoformat()} is not complete ({len(rows)} of {n} quarter hours)",
            code="ledger_incomplete",
        )
    label = datetime(day.year, day.month, day.day)
    if kind == "readings":
        return mscons.readings(
            p, location_id(battery), [end], [rows[-1].level_wh], _reference(), now, label
        )
    return mscons.load_profile(
        p,
        location_id(battery),
        [ledger_views.start_of(r) for r in rows],
        [r.discharged_wh for r in rows],
        [r.charged_wh for r in rows],
        _reference(),
        now,
        label,
    )


@dataclass(frozen=True)
class Written:
    battery_id: str
    files: list[Path]


def nightly(session: Session, data_dir: Path, now: datetime) -> list[Written]:
    """Yesterday's files of every battery (in its site's calendar): the day's CSV always, the
    two MSCONS files when its partner has market-partner ids, into
    ``<data_dir>/exports/virtual-batteries/<partner org>/``. A battery whose day is not complete
    yet is skipped (the next night writes it no more; its API serves it any time)."""
    out: list[Written] = []
    for battery in session.scalars(select(VirtualBattery).order_by(VirtualBattery.id)):
        tz, _start, _end = _day(session, battery, now.date())
        day = now.astimezone(zone(tz)).date() - timedelta(days=1)
        tz, start, end = _day(session, battery, day)
        folder = data_dir / "exports" / "virtual-batteries" / battery.org_id
        folder.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        rows = ledger_views.intervals(session, battery, start, end)
        periods = ledger_views.grouped(rows, "month", tz)
        csv_path = folder / f"virtual-battery-{battery.id}-{day.isoformat()}.csv"
        csv_path.write_text(ledger_views.interval_table(rows).csv(), encoding="utf-8")
        days_path = folder / f"virtual-battery-{battery.id}-{day.isoformat()}-day.csv"
        days_path.write_text(ledger_views.day_table(periods, tz).csv(), encoding="utf-8")
        files += [csv_path, days_path]
        if session.get(MarketPartner, battery.org_id) is not None:
            for kind in KINDS:
                try:
                    doc = mscons_file(session, battery, kind, day, now)
                except Conflict:
                    continue
                path = folder / doc.filename
                path.write_text(doc.text, encoding="iso-8859-1")
                files.append(path)
        out.append(Written(battery.id, files))
    return out
