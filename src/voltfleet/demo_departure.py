"""The demo's default departures (docs/departure-defaults.md), on the power-management home of
``demo_power``: the neighbour's card that charges at the carport usually leaves at 07:30 wanting
20 kWh, and the second carport charger's connectors default to 18:00 and 10 kWh for cards with
none. The family's own card (the simulated wallbox's) is listed with no default, so the site's
chargers still accept it once the site keeps a list of cards."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.store.departure_defaults_models import (
    ConnectorDepartureDefault,
    TagDepartureDefault,
)
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.ocpp_models import IdTag

NEIGHBOUR = ("DEMO-RFID", "Neighbour's car", "07:30", 20_000.0)
CARPORT_2 = ("DEMO-CARPORT-2", "18:00", 10_000.0)
FAMILY = ("SIMULATED", "Family EV")  # simulator.ocpp_charger's default id tag


def seed_departure_defaults(s: Session, site_id: str) -> None:
    tag, label, at, need_wh = NEIGHBOUR
    card = IdTag(site_id=site_id, tag=tag, label=label, active=True)
    s.add_all([card, IdTag(site_id=site_id, tag=FAMILY[0], label=FAMILY[1], active=True)])
    s.flush()
    s.add(TagDepartureDefault(id_tag_id=card.id, departure_time=at, energy_need_wh=need_wh))
    serial, at, need_wh = CARPORT_2
    for conn_id in s.scalars(
        select(Connector.id)
        .join(Device, Device.id == Connector.charger_id)
        .where(Device.site_id == site_id, Device.serial == serial)
    ):
        s.add(
            ConnectorDepartureDefault(
                connector_id=conn_id, departure_time=at, energy_need_wh=need_wh
            )
        )
    s.flush()
