"""The demo's homes, shared by the seeding of ``voltfleet demo`` (voltfleet.demo, which creates
their sites through the platform) and the simulator (simulator.demo_fleet, which plays them over
the public protocols). Plain data: the simulator must not import the platform to learn it."""

from __future__ import annotations

from datetime import timedelta

DEMO_TAG = "DEMO"  # the simulated homes' serial tag (simulator.demo_fleet)
DEMO_HISTORY = timedelta(hours=24)  # what the simulated homes back-fill before they go live
DYNAMIC_HOME = 1  # the home on the dynamic (market) tariff, whose battery follows a day plan
# That home's battery, seeded with the plan it followed over the day of history; the simulator
# gives the home this battery (simulator.demo_fleet.on_seeded_sites).
DYNAMIC_BATTERY_WH = 10_000.0
DYNAMIC_BATTERY_W = 5_000.0  # its largest charge and discharge power


def demo_serial(index: int, part: str) -> str:
    """The serial of simulated home ``index``'s ``part`` ("GW", "BAT"; as
    simulator.client.home_serials makes them): a device seeded with it on a demo site makes the
    simulator take that site for the home (and that device for its own) instead of new ones."""
    return f"SIM{DEMO_TAG}{index:05d}-{part}"


# (name, country, time zone, PV capacity kWp, latitude, longitude)
HOMES = [
    ("Musterhaus Freiburg", "DE", "Europe/Berlin", 9.8, 47.99, 7.85),
    ("Haus am See Potsdam", "DE", "Europe/Berlin", 7.2, 52.39, 13.06),
    ("Casa Verde Graz", "AT", "Europe/Vienna", 6.0, 47.07, 15.44),
    ("Villa Zon Utrecht", "NL", "Europe/Amsterdam", 5.4, 52.09, 5.12),
    ("Ferme Solaire Lyon", "FR", "Europe/Paris", 11.5, 45.76, 4.84),
]
