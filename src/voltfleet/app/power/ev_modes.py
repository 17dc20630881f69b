"""Departure times of charging sessions and 1p/3p switching of connectors: setting them (API and
portal) and what the power screen shows of them (each session's "ready at" or "will miss by")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.charging.repository import ChargingRepository
from voltfleet.app.deps import Caller
from voltfleet.app.power.ev_modes_schemas import (
    DepartureIn,
    DepartureOut,
    PhaseSwitchingIn,
    PhaseSwitchingOut,
)
from voltfleet.app.power.events import changed
from voltfleet.app.power.service import _require, _site_connector, location_of
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.power.departure import Need, outlook, remaining_wh
from voltfleet.domain.power.tree import PHASES, GridType, watts_per_a
from voltfleet.protocols.ocpp.messages import ChargingNeeds
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.ev_modes_models import PhaseSwitching, SessionDeparture
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Site
from voltfleet.store.power_models import PowerConnector
from voltfleet.usecases import power_management as pm
from voltfleet.usecases.errors import Conflict, Rejected


def _audit(
    session: Session, caller: Caller, site: Site, action: str, detail: dict[str, Any]
) -> None:
    audit.on_site(session, caller, site, f"power.{action}", detail)


# ---- departure times --------------------------------------------------------------------------


def _open_session(session: Session, caller: Caller, session_id: str) -> ChargingSession:
    row = ChargingRepository(session, caller).get(session_id)  # the caller's scope: else 404
    caller.require(Kind.DEVICE, Action.UPDATE)
    if row.stopped_at is not None:
        raise Conflict("this charging session has ended: a departure time is for a running one")
    return row


def _recompute(session: Session, site_id: str) -> None:
    loc = location_of(session, site_id)
    if loc is not None:
        changed(session, loc.id)


def set_departure(
    session: Session,
    caller: Caller,
    session_id: str,
    body: DepartureIn,
    now: datetime,
    source: str = "api",
) -> ChargingSession:
    """Give a running session a departure time and an energy need (replacing any)."""
    row = _open_session(session, caller, session_id)
    if body.departure_at <= now:
        raise Rejected(
            "the departure must be in the future",
            errors=[{"field": "departure_at", "message": "is not in the future"}],
        )
    dep = session.get(SessionDeparture, row.id)
    if dep is None:
        dep = SessionDeparture(session_id=row.id)
        session.add(dep)
    dep.departure_at = body.departure_at
    dep.energy_need_wh = body.energy_need_kwh * 1000.0
    dep.source = source
    dep.updated_at = now
    site = session.get(Site, row.site_id)
    assert site is not None
    _audit(
        session,
        caller,
        site,
        "departure.set",
        {
            "session_id": row.id,
            "departure_at": body.departure_at.isoformat(),
            "energy_need_kwh": body.energy_need_kwh,
        },
    )
    _recompute(session, site.id)
    session.flush()
    return row


def clear_departure(session: Session, caller: Caller, session_id: str) -> None:
    row = _open_session(session, caller, session_id)
    dep = session.get(SessionDeparture, row.id)
    if dep is None:  # already none: the same answer
        return
    session.delete(dep)
    site = session.get(Site, row.site_id)
    assert site is not None
    _audit(session, caller, site, "departure.clear", {"session_id": row.id})
    _recompute(session, site.id)


def departure_from_car(
    session: Session, device: Device, needs: ChargingNeeds, now: datetime
) -> bool:
    """A car's own departure and energy need (OCPP 2.0.1 NotifyEVChargingNeeds) on the running
    session of its EVSE: the need is what it has charged plus what it still asks for. False
    (the station hears Rejected) without a running session or with a departure gone."""
    if needs.departure_at is None or needs.energy_wh is None or needs.departure_at <= now:
        return False
    row = session.scalar(
        select(ChargingSession).where(
            ChargingSession.device_id == device.id,
            ChargingSession.connector_id == needs.evse_id,
            ChargingSession.stopped_at.is_(None),
        )
    )
    if row is None:
        return False
    dep = session.get(SessionDeparture, row.id)
    if dep is None:
        dep = SessionDeparture(session_id=row.id)
        session.add(dep)
    dep.departure_at = needs.departure_at
    dep.energy_need_wh = _charged_wh(row) + needs.energy_wh
    dep.source = "car"
    dep.updated_at = now
    _recompute(session, row.site_id)
    return True


def departure_view(
    session: Session, caller: Caller, session_id: str, now: datetime
) -> DepartureOut:
    row = ChargingRepository(session, caller).get(session_id)
    site = session.get(Site, row.site_id)
    assert site is not None
    for d in departures(session, site, now, only_set=False):
        if d.session_id == row.id:
            return d
    serial = session.scalar(select(Device.serial).where(Device.id == row.device_id)) or ""
    return DepartureOut(
        session_id=row.id,
        charger_serial=serial,
        connector_no=row.connector_id,
        departure_at=None,
        energy_need_kwh=None,
        charged_kwh=_charged_wh(row) / 1000,
        remaining_kwh=0.0,
        power_w=None,
        ready_at=None,
        short_kwh=0.0,
    )


def _charged_wh(row: Any) -> float:
    last = row.meter_last_wh if row.meter_last_wh is not None else row.meter_start_wh
    return max(0.0, last - row.meter_start_wh)


def departures(
    session: Session, site: Site, now: datetime, only_set: bool = True
) -> list[DepartureOut]:
    """The site's running sessions (with a departure time, or all), each with its outlook at the
    power the allocation gives its car now."""
    rows = session.execute(
        select(ChargingSession, Device.serial, SessionDeparture)
        .join(Device, Device.id == ChargingSession.device_id)
        .outerjoin(SessionDeparture, SessionDeparture.session_id == ChargingSession.id)
        .where(ChargingSession.site_id == site.id, ChargingSession.stopped_at.is_(None))
        .order_by(ChargingSession.started_at)
    ).all()
    if only_set:
        rows = [r for r in rows if r[2] is not None]
    if not rows:
        return []
    power_of = _allocated_w(session, site, now)
    out = []
    for cs, serial, dep in rows:
        charged = _charged_wh(cs)
        power = power_of.get((cs.device_id, cs.connector_id))
        if dep is None:
            out.append(
                DepartureOut(
                    session_id=cs.id,
                    charger_serial=serial,
                    connector_no=cs.connector_id,
                    departure_at=None,
                    energy_need_kwh=None,
                    charged_kwh=round(charged / 1000, 2),
                    remaining_kwh=0.0,
                    power_w=power,
                    ready_at=None,
                    short_kwh=0.0,
                )
            )
            continue
        need = Need(remaining_wh(dep.energy_need_wh, charged), dep.departure_at.timestamp())
        look = outlook(need, power if power is not None else 0.0, now.timestamp())
        ready = datetime.fromtimestamp(look.ready_s, now.tzinfo) if look.ready_s else None
        out.append(
            DepartureOut(
                session_id=cs.id,
                charger_serial=serial,
                connector_no=cs.connector_id,
                departure_at=dep.departure_at,
                energy_need_kwh=dep.energy_need_wh / 1000,
                charged_kwh=round(charged / 1000, 2),
                remaining_kwh=round(need.energy_wh / 1000, 2),
                power_w=power,
                ready_at=ready,
                short_kwh=round(look.short_wh / 1000, 2),
                source=dep.source,
            )
        )
    return out


def _allocated_w(session: Session, site: Site, now: datetime) -> dict[tuple[str, int], float]:
    """(charger id, connector number) -> the power its allocation gives now (W)."""
    loc = location_of(session, site.id)
    if loc is None:
        return {}
    from voltfleet.store.power_repository import SqlPowerRepository

    snap = SqlPowerRepository(session).snapshot(loc.id, now)
    if snap is None:
        return {}
    a = pm.decide(snap, now).allocation
    grid = GridType(loc.grid_type)
    where = {
        pc_id: (charger, no)
        for pc_id, charger, no in session.execute(
            select(PowerConnector.id, Connector.charger_id, Connector.connector_no)
            .join(Connector, Connector.id == PowerConnector.connector_id)
            .where(PowerConnector.location_id == loc.id)
        )
    }
    return {
        where[pc]: round(limit * watts_per_a(grid, a.phases.get(pc, PHASES)), 0)
        for pc, limit in a.limits_a.items()
        if pc in where
    }


# ---- 1p/3p switching -------------------------------------------------------------------------


def set_phase_switching(
    session: Session, caller: Caller, site: Site, connector_id: str, body: PhaseSwitchingIn
) -> PhaseSwitchingOut:
    """Say whether a connector in the tree can switch phases, and its timers."""
    loc = _require(session, site)
    conn = _site_connector(session, site, connector_id)
    pc = session.scalar(select(PowerConnector).where(PowerConnector.connector_id == conn.id))
    if pc is None:
        raise Conflict("put the connector in a group of the power tree first")
    row = session.get(PhaseSwitching, pc.id)
    if not body.enabled:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = PhaseSwitching(power_connector_id=pc.id, location_id=loc.id, phases=PHASES)
            session.add(row)
        row.up_delay_s = body.up_delay_s
        row.down_delay_s = body.down_delay_s
        row.min_interval_s = body.min_interval_s
    _audit(
        session,
        caller,
        site,
        "phase_switching",
        {"connector_id": conn.id, **body.model_dump()},
    )
    changed(session, loc.id)
    session.flush()
    found = phase_switching(session, site).get(conn.id)
    return found or PhaseSwitchingOut(connector_id=conn.id, enabled=False)


def phase_switching(session: Session, site: Site) -> dict[str, PhaseSwitchingOut]:
    """By fleet connector id: the switchable connectors of the site's tree and their state."""
    loc = location_of(session, site.id)
    if loc is None:
        return {}
    out = {}
    for row, connector_id in session.execute(
        select(PhaseSwitching, PowerConnector.connector_id)
        .join(PowerConnector, PowerConnector.id == PhaseSwitching.power_connector_id)
        .where(PhaseSwitching.location_id == loc.id)
    ):
        out[connector_id] = PhaseSwitchingOut(
            connector_id=connector_id,
            enabled=True,
            up_delay_s=row.up_delay_s,
            down_delay_s=row.down_delay_s,
            min_interval_s=row.min_interval_s,
            phases=row.phases,
            want=row.want,
            want_since=row.want_since,
            switched_at=row.switched_at,
        )
    return out


def page_context(session: Session, caller: Caller, site: Site, now: datetime) -> dict[str, Any]:
    """What the power screen shows of departure times and phase switching."""
    return {
        "departures": departures(session, site, now, only_set=False),
        "switching": phase_switching(session, site),
        "can_set_departure": caller.can(Kind.DEVICE, Action.UPDATE),
    }
