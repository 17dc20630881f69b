"""The demo's departure time and 1p/3p switching, on the power-management location of
``demo_power``: the home's wallbox (the simulated OCPP charger of its EV) can switch phases, so
in solar balancing the EV charges on one phase while the surplus is below 4.1 kW; the car waiting
at the carport leaves in eight hours wanting 10 kWh (the power screen says when it will be
ready)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.simulator.client import charger_serial
from voltfleet.simulator.demo_homes import DEMO_TAG
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.ev_modes_models import PhaseSwitching, SessionDeparture
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.power_models import PowerConnector, PowerLocation

DEPARTURE_IN = timedelta(hours=8)
ENERGY_NEED_WH = 10_000.0


def seed_ev_modes_demo(s: Session, loc: PowerLocation, now: datetime) -> None:
    wallbox = s.scalar(
        select(PowerConnector)
        .join(Connector, Connector.id == PowerConnector.connector_id)
        .join(Device, Device.id == Connector.charger_id)
        .where(PowerConnector.location_id == loc.id, Device.serial == charger_serial(0, DEMO_TAG))
    )
    if wallbox is not None:
        s.add(PhaseSwitching(power_connector_id=wallbox.id, location_id=loc.id, phases=3))
    waiting = s.scalar(select(ChargingSession).where(ChargingSession.transaction_id == 424242))
    if waiting is not None:
        s.add(
            SessionDeparture(
                session_id=waiting.id,
                departure_at=now + DEPARTURE_IN,
                energy_need_wh=ENERGY_NEED_WH,
                source="portal",
                updated_at=now,
            )
        )
    s.flush()
