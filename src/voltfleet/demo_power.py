"""The demo's EV power management: the first demo home as a location with a three-phase 35 A
main fuse metered by the home's meter (the simulated home sends its grid power, PV included:
the allocation follows the house load and the sun), two groups, and five connectors: in the
Garage the home's own wallbox (the simulated OCPP charger of its EV), in the Carport two
two-connector chargers (seeded, not simulated; a car waits at one)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.simulator.client import charger_serial
from voltfleet.simulator.demo_homes import DEMO_TAG, demo_serial
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Site
from voltfleet.store.power_models import PowerConnector, PowerGroup, PowerLocation

MAIN_FUSE_A = 35.0


def seed_power_demo(s: Session, site: Site, gateway: Device, now: datetime) -> PowerLocation:
    """Seed the location (before the simulator starts: it takes the seeded meter and wallbox,
    found by their serials, for the home's own)."""
    meter = Device(
        site_id=site.id,
        parent_id=gateway.id,
        kind="meter",
        subtype="grid",
        serial=demo_serial(0, "MTR"),
        model="voltfleet simulator",
    )
    wallbox = Device(
        site_id=site.id,
        kind="charger",
        subtype="ac",
        serial=charger_serial(0, DEMO_TAG),
        name="Wallbox",
    )
    carport = [
        Device(
            site_id=site.id,
            kind="charger",
            subtype="ac",
            serial=f"DEMO-CARPORT-{n}",
            name=f"Carport charger {n}",
            model="Twin 2x22 kW",
        )
        for n in (1, 2)
    ]
    s.add_all([meter, wallbox, *carport])
    s.flush()
    plugs = [Connector(charger_id=wallbox.id, connector_no=1, max_current_a=32.0)]
    plugs += [
        Connector(charger_id=c.id, connector_no=no, max_current_a=32.0, status="available")
        for c in carport
        for no in (1, 2)
    ]
    plugs[1].status = "suspended_evse"  # a car waits at the carport
    s.add_all(plugs)
    s.flush()
    s.add(
        ChargingSession(
            site_id=site.id,
            device_id=carport[0].id,
            connector_id=1,
            transaction_id=424242,
            id_tag="DEMO-RFID",
            started_at=now - timedelta(minutes=20),
            meter_start_wh=0.0,
            meter_last_wh=0.0,
            power_w=0.0,
            updated_at=now,
        )
    )
    loc = PowerLocation(
        site_id=site.id, grid_type="3x400", mode="solar_balancing", raise_hold_s=30.0
    )
    s.add(loc)
    s.flush()
    root = PowerGroup(
        location_id=loc.id, name="Main fuse", fuse_a=MAIN_FUSE_A, meter_device_id=meter.id
    )
    s.add(root)
    s.flush()
    garage = PowerGroup(
        location_id=loc.id, parent_id=root.id, name="Garage", fuse_a=20.0, position=1
    )
    carport_group = PowerGroup(
        location_id=loc.id, parent_id=root.id, name="Carport", fuse_a=25.0, position=2
    )
    s.add_all([garage, carport_group])
    s.flush()
    rotations = ["123", "231", "312", "123", "231"]
    for i, plug in enumerate(plugs):
        group = garage if i == 0 else carport_group
        s.add(
            PowerConnector(
                location_id=loc.id, group_id=group.id, connector_id=plug.id, rotation=rotations[i]
            )
        )
    return loc
