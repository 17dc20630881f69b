"""The simulated charger (simulator/ocpp_charger.py) speaks OCPP 1.6J and 2.0.1 to the platform
and obeys the charging profiles it is sent: its drawn current follows the composite schedule per
phase, for a car on one or three phases; the platform reads back what it applies with
GetCompositeSchedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.ocpp.stations import command
from voltfleet.app.charging.charger_link import charger_link
from voltfleet.app.runtime import Runtime
from voltfleet.simulator.ocpp_charger import SimulatedCharger
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.timeseries import store_for

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


@pytest.mark.parametrize(
    ("version", "car_phases", "want_w", "want_lines"),
    [
        ("2.0.1", 1, 10 * 230.0, {"ev_current_l1_a": 10.0}),
        ("1.6", 3, 3 * 10 * 230.0, {f"ev_current_l{n}_a": 10.0 for n in (1, 2, 3)}),
    ],
)
def test_the_simulated_charger_follows_the_limit_on_its_cars_phases(
    base_url: str,
    charger: dict[str, str],
    om: dict[str, str],
    runtime: Runtime,
    version: str,
    car_phases: int,
    want_w: float,
    want_lines: dict[str, float],
) -> None:
    link = charger_link(runtime)

    async def run() -> tuple[float, float, Any]:
        sim = SimulatedCharger(
            base_url, charger["serial"], charger["token"], version=version, car_phases=car_phases
        )
        await sim.connect()
        try:
            await sim.step(T0 + timedelta(minutes=1), 60, True, 11000.0)
            before = sim.drawn_w
            assert await link.set_current_limit(charger["serial"], 1, 10.0, 3)
            await sim.step(T0 + timedelta(minutes=2), 60, True, 11000.0)
            after = sim.drawn_w
            r = await command(
                base_url, om, charger["charger"], "get_composite_schedule", connector_id=1,
                duration_s=300,
            )  # fmt: skip
            await sim.step(T0 + timedelta(minutes=3), 60, False, 0.0)
            return before, after, r.json()
        finally:
            await sim.close()

    before, after, composite = asyncio.run(run())
    assert before == 11000.0  # no limit yet
    assert after == pytest.approx(want_w)
    assert composite["status"] == "Accepted", composite
    schedule = composite["result"].get("schedule") or composite["result"]["charging_schedule"]
    assert schedule["charging_schedule_period"][0]["limit"] == 10.0
    with runtime.db.session() as s:
        store = store_for(s.connection())
        at = T0 + timedelta(minutes=2)
        for point, amps in want_lines.items():
            got = store.read(charger["charger"], point, at, at + timedelta(seconds=1))
            assert [x.value for x in got] == [amps], point
        if car_phases == 1:
            assert (
                store.read(charger["charger"], "ev_current_l2_a", at, at + timedelta(seconds=1))
                == []
            )
        session = s.scalar(select(ChargingSession))
        assert session is not None and session.stopped_at is not None
        assert session.energy_wh == pytest.approx(11000 / 60 + want_w / 60, abs=1)
