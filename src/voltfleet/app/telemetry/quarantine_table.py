"""The quarantine as a download: every matching reading (at most ``MAX_ROWS``) with what was sent
kept as sent (device reference, point, timestamp text, value text, unit) and its reason; instants
in ISO 8601 UTC. Text a gateway chose goes through the product's CSV writer (app/tables.py), so a
device reference or unit such as ``=HYPERLINK(...)`` reaches a spreadsheet as text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select
from sqlalchemy.orm import Session

from voltfleet.app.tables import Column, Table, zoned
from voltfleet.store.telemetry_models import QuarantinedReading

MAX_ROWS = 100_000

COLUMNS = (
    "id",
    "received_at",
    "site_id",
    "gateway_id",
    "device_id",
    "device_ref",
    "point",
    "ts",
    "ts_text",
    "value_text",
    "unit",
    "reason",
    "detail",
)


def _utc(v: object) -> object:
    return v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v


def _field(name: str) -> Column[QuarantinedReading]:
    # received_at and ts are instants in UTC, which their headers say (ts_text is as received)
    title = zoned(name, "UTC") if name in ("received_at", "ts") else name
    return Column(title, lambda row: _utc(getattr(row, name)))


def quarantine_table(
    session: Session, stmt: Select[QuarantinedReading]
) -> Table[QuarantinedReading]:
    return Table([_field(c) for c in COLUMNS], list(session.scalars(stmt.limit(MAX_ROWS))))
