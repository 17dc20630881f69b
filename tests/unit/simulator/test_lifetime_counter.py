"""The simulated inverter's lifetime yield register (issue 19): the demo's inverters report it,
it is the PV counter's lifetime value, and runs that count readings are unchanged without it."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.unit.simulator.test_readings import ACC
from voltfleet.simulator.demo_fleet import DemoFleet
from voltfleet.simulator.fleet import FleetConfig, readings_for
from voltfleet.simulator.model import Counters

TS = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_the_inverter_reports_its_lifetime_register_when_asked() -> None:
    c = Counters(pv_wh=4_321_000.5, load_wh=10.0)
    plain = readings_for(ACC, TS, c, None, 0.5)
    assert all(r["point"] != "lifetime_yield_wh" for r in plain)
    with_register = readings_for(ACC, TS, c, None, 0.5, lifetime=True)
    assert len(with_register) == len(plain) + 1
    (got,) = [r for r in with_register if r["point"] == "lifetime_yield_wh"]
    assert got == {
        "device": ACC.inverter_serial,
        "point": "lifetime_yield_wh",
        "ts": TS.isoformat(),
        "value": 4_321_000.5,
        "unit": "Wh",
    }


def test_the_demo_fleet_reports_it_and_other_runs_do_not() -> None:
    assert FleetConfig().lifetime_counter is False
    assert DemoFleet("http://127.0.0.1:1", "a@b.c", "pw").config(TS).lifetime_counter is True
