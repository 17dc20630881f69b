"""Charging sessions as the caller may see them: those of the sites in the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voltfleet.app.charging.schemas import ChargingSessionOut
from voltfleet.app.deps import Caller
from voltfleet.app.sites.repository import visible_sites
from voltfleet.app.tables import Column, Table, zoned
from voltfleet.domain.charging import session_energy_wh
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases.errors import NotFound

CSV_MAX_ROWS = 50_000


def visible_sessions(caller: Caller) -> Select[tuple[ChargingSession]]:
    site_ids = visible_sites(caller).with_only_columns(Site.id)
    return select(ChargingSession).where(ChargingSession.site_id.in_(site_ids))


@dataclass
class SessionFilters:
    site_id: str | None = None
    device_id: str | None = None
    active: bool | None = None


class ChargingRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def get(self, session_id: str) -> ChargingSession:
        row = self.session.scalar(
            visible_sessions(self.caller).where(ChargingSession.id == session_id)
        )
        if row is None:
            raise NotFound("charging session")
        return row

    def query(self, f: SessionFilters) -> Select[tuple[ChargingSession]]:
        """Newest first."""
        stmt = visible_sessions(self.caller)
        if f.site_id:
            stmt = stmt.where(ChargingSession.site_id == f.site_id)
        if f.device_id:
            stmt = stmt.where(ChargingSession.device_id == f.device_id)
        if f.active is True:
            stmt = stmt.where(ChargingSession.stopped_at.is_(None))
        elif f.active is False:
            stmt = stmt.where(ChargingSession.stopped_at.is_not(None))
        return stmt.order_by(ChargingSession.started_at.desc(), ChargingSession.id)

    def views(self, rows: Sequence[ChargingSession]) -> list[ChargingSessionOut]:
        ids = {r.device_id for r in rows}
        serials = (
            dict(
                self.session.execute(
                    select(Device.id, Device.serial).where(Device.id.in_(ids))
                ).all()
            )
            if ids
            else {}
        )
        return [view(r, serials.get(r.device_id, "")) for r in rows]

    def all_views(self, f: SessionFilters) -> list[ChargingSessionOut]:
        return self.views(list(self.session.scalars(self.query(f).limit(CSV_MAX_ROWS))))


def view(row: ChargingSession, serial: str) -> ChargingSessionOut:
    active = row.stopped_at is None
    energy = row.energy_wh
    if active and row.meter_last_wh is not None:
        energy = session_energy_wh(row.meter_start_wh, row.meter_last_wh)
    return ChargingSessionOut(
        id=row.id,
        site_id=row.site_id,
        device_id=row.device_id,
        charger_serial=serial,
        connector_id=row.connector_id,
        transaction_id=row.transaction_id,
        id_tag=row.id_tag,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        active=active,
        meter_start_wh=row.meter_start_wh,
        meter_stop_wh=row.meter_stop_wh,
        energy_wh=energy,
        power_w=row.power_w,
        stop_reason=row.stop_reason,
        updated_at=row.updated_at,
    )


COLUMNS = [
    "id",
    "site_id",
    "charger_serial",
    "connector_id",
    "transaction_id",
    "id_tag",
    "started_at",
    "stopped_at",
    "meter_start_wh",
    "meter_stop_wh",
    "energy_wh",
    "stop_reason",
]


TIMES = {"started_at", "stopped_at"}  # instants in UTC, which their headers say


def _field(name: str) -> Column[ChargingSessionOut]:
    title = zoned(name, "UTC") if name in TIMES else name
    return Column(title, lambda r: getattr(r, name))


def session_table(rows: Sequence[ChargingSessionOut]) -> Table[ChargingSessionOut]:
    return Table([_field(c) for c in COLUMNS], rows)
