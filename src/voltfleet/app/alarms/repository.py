"""Alarms at the HTTP and portal edges: the list's filters as the use case takes them, rows as the
API answers them, and the download's columns. The queries themselves are in
store/alarm_repository.py, the rules in usecases/alarms.py."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from voltfleet.app.alarms.schemas import AlarmOut
from voltfleet.app.alarms.service import repository
from voltfleet.app.alarms.zones import local
from voltfleet.app.deps import Caller
from voltfleet.app.i18n import _
from voltfleet.app.tables import Column, Table
from voltfleet.domain.alarms import CATALOGUE
from voltfleet.usecases import alarms as usecase
from voltfleet.usecases.alarms import CSV_MAX_ROWS, STATUSES, AlarmView
from voltfleet.usecases.alarms import Filters as AlarmFilters

__all__ = [
    "CSV_MAX_ROWS",
    "STATUSES",
    "AlarmFilters",
    "active_counts",
    "active_level_counts",
    "alarm_table",
    "out",
    "translated_titles",
]


def translated_titles() -> dict[str, list[str]]:
    """The catalogue's titles in the reader's language, for the free-text filter."""
    return {code: [_(c.title)] for code, c in CATALOGUE.items()}


def out(views: list[AlarmView]) -> list[AlarmOut]:
    return [AlarmOut(**asdict(v)) for v in views]


def active_counts(session: Session, caller: Caller) -> dict[str, int]:
    """Active alarms by severity over the caller's own sites (usecases.alarms.active_counts)."""
    return usecase.active_counts(repository(session, caller))


def active_level_counts(session: Session, caller: Caller) -> dict[str, int]:
    """Active alarms by level over the caller's own sites (usecases.alarms.active_level_counts)."""
    return usecase.active_level_counts(repository(session, caller))


def alarm_columns(zone: str = "UTC") -> list[Column[AlarmOut]]:
    """The download's columns; its times in ``zone``, which their headers name."""

    def at(name: str, get: object) -> Column[AlarmOut]:
        # the header in the reader's language, naming the zone of its instants
        return Column(f"{_(name)} ({zone})", lambda a: local(get(a), zone))  # type: ignore[operator]

    return [
        Column("level", lambda a: a.level),
        Column("severity", lambda a: a.severity),
        at("raised_at", lambda a: a.raised_at),
        at("cleared_at", lambda a: a.cleared_at),
        Column("status", lambda a: a.status),
        Column("site", lambda a: a.site_name),
        Column("device_serial", lambda a: a.device_serial),
        Column("device_name", lambda a: a.device_name),
        Column("code", lambda a: a.code),
        Column("title", lambda a: a.title),
        Column("message", lambda a: a.message),
        at("acknowledged_at", lambda a: a.acknowledged_at),
        Column("acknowledged_by", lambda a: a.acknowledged_by_email),
        Column("id", lambda a: a.id),
    ]


def alarm_table(rows: list[AlarmOut], zone: str = "UTC") -> Table[AlarmOut]:
    """The alarms as the download has them (instants in ISO 8601 with the offset of ``zone``)."""
    return Table(alarm_columns(zone), rows)
