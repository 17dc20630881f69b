"""Default departures (docs/departure-defaults.md): an id tag's and a connector's usual
departure time of day and energy need, set by those who manage the site's cards and chargers,
and applied to a session when it starts (OCPP 1.6 StartTransaction, 2.0.1 TransactionEvent
Started; or when a 2.0.1 card arrives after the start, app/charging/card_later.py): the tag's
default, else the connector's, on the site's clock. The car's own
NotifyEVChargingNeeds or a person replaces it later (app/power/ev_modes.py). Never commits."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.charging import service
from voltfleet.app.charging.departure_defaults_schemas import (
    ConnectorDepartureDefaultOut,
    DepartureDefaultIn,
    DepartureDefaultsOut,
    TagDepartureDefaultOut,
)
from voltfleet.app.deps import Caller
from voltfleet.app.power.events import changed
from voltfleet.app.power.service import location_of
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.power.departure_defaults import (
    DepartureDefault,
    choose,
    parse_time_of_day,
)
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.departure_defaults_models import (
    ConnectorDepartureDefault,
    TagDepartureDefault,
)
from voltfleet.store.ev_modes_models import SessionDeparture
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Site
from voltfleet.store.ocpp_models import IdTag
from voltfleet.usecases.charging import StartRequest
from voltfleet.usecases.errors import Invalid, NotFound

log = logging.getLogger(__name__)


def _audit(
    session: Session, caller: Caller, site: Site, action: str, detail: dict[str, Any]
) -> None:
    audit.on_site(session, caller, site, f"departure_default.{action}", detail)


def _hhmm(text: str) -> str:
    return parse_time_of_day(text).strftime("%H:%M")


# ---- reading -----------------------------------------------------------------------------------


def tag_defaults(session: Session, site_id: str) -> dict[str, TagDepartureDefaultOut]:
    """By id tag id: the site's tags that carry a default."""
    rows = session.execute(
        select(IdTag, TagDepartureDefault)
        .join(TagDepartureDefault, TagDepartureDefault.id_tag_id == IdTag.id)
        .where(IdTag.site_id == site_id)
        .order_by(IdTag.tag)
    )
    return {
        tag.id: TagDepartureDefaultOut(
            id_tag_id=tag.id,
            tag=tag.tag,
            label=tag.label,
            departure_time=d.departure_time,
            energy_need_kwh=d.energy_need_wh / 1000,
        )
        for tag, d in rows
    }


def connector_defaults(
    session: Session, site_id: str, charger_id: str | None = None
) -> dict[str, ConnectorDepartureDefaultOut]:
    """By connector id: the site's (or one charger's) connectors that carry a default."""
    stmt = (
        select(Connector, Device.serial, ConnectorDepartureDefault)
        .join(ConnectorDepartureDefault, ConnectorDepartureDefault.connector_id == Connector.id)
        .join(Device, Device.id == Connector.charger_id)
        .where(Device.site_id == site_id, Device.deleted_at.is_(None))
        .order_by(Device.serial, Connector.connector_no)
    )
    if charger_id is not None:
        stmt = stmt.where(Device.id == charger_id)
    return {
        c.id: ConnectorDepartureDefaultOut(
            connector_id=c.id,
            charger_id=c.charger_id,
            charger_serial=serial,
            connector_no=c.connector_no,
            departure_time=d.departure_time,
            energy_need_kwh=d.energy_need_wh / 1000,
        )
        for c, serial, d in session.execute(stmt)
    }


def site_defaults(session: Session, caller: Caller, site_id: str) -> DepartureDefaultsOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return DepartureDefaultsOut(
        tags=list(tag_defaults(session, site.id).values()),
        connectors=list(connector_defaults(session, site.id).values()),
    )


# ---- setting (an id tag's: who edits the site's tags; a connector's: who updates chargers) ----


def _tag(session: Session, caller: Caller, site_id: str, tag_id: str) -> tuple[Site, IdTag]:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    tag = session.get(IdTag, tag_id)
    if tag is None or tag.site_id != site.id:
        raise NotFound("id tag")
    return site, tag


def set_tag_default(
    session: Session, caller: Caller, site_id: str, tag_id: str, body: DepartureDefaultIn
) -> TagDepartureDefaultOut:
    site, tag = _tag(session, caller, site_id, tag_id)
    row = session.get(TagDepartureDefault, tag.id)
    if row is None:
        row = TagDepartureDefault(id_tag_id=tag.id)
        session.add(row)
    row.departure_time = _hhmm(body.departure_time)
    row.energy_need_wh = body.energy_need_kwh * 1000
    _audit(session, caller, site, "tag.set", {"tag": tag.tag, **body.model_dump()})
    session.flush()
    return tag_defaults(session, site.id)[tag.id]


def clear_tag_default(session: Session, caller: Caller, site_id: str, tag_id: str) -> None:
    site, tag = _tag(session, caller, site_id, tag_id)
    row = session.get(TagDepartureDefault, tag.id)
    if row is not None:
        session.delete(row)
        _audit(session, caller, site, "tag.clear", {"tag": tag.tag})
        session.flush()


def _connector(
    session: Session, caller: Caller, site_id: str, connector_id: str
) -> tuple[Site, Connector]:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    conn = session.scalar(
        select(Connector)
        .join(Device, Device.id == Connector.charger_id)
        .where(
            Connector.id == connector_id,
            Device.site_id == site.id,
            Device.deleted_at.is_(None),
        )
    )
    if conn is None:
        raise NotFound("connector")
    caller.require(Kind.DEVICE, Action.UPDATE)
    return site, conn


def set_connector_default(
    session: Session, caller: Caller, site_id: str, connector_id: str, body: DepartureDefaultIn
) -> ConnectorDepartureDefaultOut:
    site, conn = _connector(session, caller, site_id, connector_id)
    row = session.get(ConnectorDepartureDefault, conn.id)
    if row is None:
        row = ConnectorDepartureDefault(connector_id=conn.id)
        session.add(row)
    row.departure_time = _hhmm(body.departure_time)
    row.energy_need_wh = body.energy_need_kwh * 1000
    detail = {"connector_id": conn.id, "connector_no": conn.connector_no, **body.model_dump()}
    _audit(session, caller, site, "connector.set", detail)
    session.flush()
    return connector_defaults(session, site.id)[conn.id]


def clear_connector_default(
    session: Session, caller: Caller, site_id: str, connector_id: str
) -> None:
    site, conn = _connector(session, caller, site_id, connector_id)
    row = session.get(ConnectorDepartureDefault, conn.id)
    if row is not None:
        session.delete(row)
        _audit(session, caller, site, "connector.clear", {"connector_id": conn.id})
        session.flush()


# ---- applying at a session's start -----------------------------------------------------------


def _default(
    row: TagDepartureDefault | ConnectorDepartureDefault | None,
) -> DepartureDefault | None:
    if row is None:
        return None
    return DepartureDefault(parse_time_of_day(row.departure_time), row.energy_need_wh)


def apply_at_start(
    session: Session, device: Device, request: StartRequest, now: datetime
) -> SessionDeparture | None:
    """Give the session just started on ``request``'s connector its default departure: its
    tag's, else its connector's (None: neither has one, the session already has a departure,
    e.g. a start sent again, or the default's time has passed by now)."""
    row = service.open_session(session, device, request.connector_id)
    if row is None:
        return None
    return apply_to_session(session, device, row, request.id_tag, now)


def apply_to_session(
    session: Session, device: Device, row: ChargingSession, id_tag: str, now: datetime
) -> SessionDeparture | None:
    """``apply_at_start`` on a running session ``row`` with the card ``id_tag`` (also when the
    card arrives after the start: app/charging/card_later.py); the departure is the default's
    next time of day after the session's start. A session that already has a departure keeps
    it, except a connector's default, which a card with a default of its own replaces."""
    existing = session.get(SessionDeparture, row.id)
    if existing is not None and existing.source != "connector_default":
        return None  # the car's, a person's or the card's own departure stays
    tag_row = None
    if id_tag:
        tag_row = session.scalar(
            select(TagDepartureDefault)
            .join(IdTag, IdTag.id == TagDepartureDefault.id_tag_id)
            .where(IdTag.site_id == device.site_id, IdTag.tag == id_tag)
        )
    if existing is not None and tag_row is None:
        return None  # the connector's default stays unless a card with its own arrives
    conn_row = session.scalar(
        select(ConnectorDepartureDefault)
        .join(Connector, Connector.id == ConnectorDepartureDefault.connector_id)
        .where(Connector.charger_id == device.id, Connector.connector_no == row.connector_id)
    )
    if tag_row is None and conn_row is None:
        return None
    site = session.get(Site, device.site_id)
    try:  # a default never costs the charger its start: a bad zone or row is logged, skipped
        zone = ZoneInfo((site.timezone if site else None) or "UTC")
        chosen = choose(row.started_at, zone, _default(tag_row), _default(conn_row))
    except (ValueError, ZoneInfoNotFoundError) as exc:
        log.warning("session %s: no default departure (%s)", row.id, exc)
        return None
    if chosen is None or chosen.departure_at <= now:
        return None
    if existing is not None:
        # a card shown after the start (cable plugin first): its default is the more specific,
        # as it would have been at the start
        dep = existing
        dep.departure_at = chosen.departure_at
        dep.energy_need_wh = chosen.energy_need_wh
        dep.source = f"{chosen.source}_default"
        dep.updated_at = now
    else:
        dep = SessionDeparture(
            session_id=row.id,
            departure_at=chosen.departure_at,
            energy_need_wh=chosen.energy_need_wh,
            source=f"{chosen.source}_default",
            updated_at=now,
        )
        session.add(dep)
    loc = location_of(session, device.site_id)
    if loc is not None:
        changed(session, loc.id)
    session.flush()
    return dep


# ---- the id-tag form of the charger page -----------------------------------------------------


def form_default(departure_time: str, energy_need_kwh: str) -> DepartureDefaultIn | None:
    """The default departure fields of a form: both empty is none; else both, valid."""
    if not departure_time.strip() and not energy_need_kwh.strip():
        return None
    try:
        return DepartureDefaultIn(
            departure_time=departure_time.strip(),
            energy_need_kwh=float(energy_need_kwh or "nan"),
        )
    except ValueError:  # pydantic's ValidationError is one
        raise Invalid(
            "a default departure is a time of day (HH:MM) and an energy need of more than 0 "
            "and at most 500 kWh",
            [{"field": "departure_time", "message": "HH:MM with energy_need_kwh in (0, 500]"}],
        ) from None


def put_or_clear_tag_default(
    session: Session, caller: Caller, site_id: str, tag_id: str, body: DepartureDefaultIn | None
) -> None:
    if body is None:
        clear_tag_default(session, caller, site_id, tag_id)
    else:
        set_tag_default(session, caller, site_id, tag_id, body)
