"""The demo shows departure times and 1p/3p switching: the car waiting at the carport leaves in
eight hours wanting 10 kWh and will be ready in time; the home's wallbox can switch phases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.app.test_power_demo import runtime as runtime
from voltfleet.app.power.ev_modes import departures, phase_switching
from voltfleet.app.runtime import Runtime
from voltfleet.demo import HOMES, seed_demo
from voltfleet.store.models import Site


def test_the_demo_has_a_departure_and_a_switchable_wallbox(runtime: Runtime) -> None:
    seed_demo(runtime)
    now = datetime.now(UTC).replace(microsecond=0)
    with runtime.db.session() as s:
        site = s.scalar(select(Site).where(Site.name == HOMES[0][0]))
        assert site is not None
        [d] = departures(s, site, now)
        assert d.energy_need_kwh == 10 and d.charger_serial == "DEMO-CARPORT-1"
        assert d.power_w == 6.0 * 690  # the meter is silent before the simulator starts
        assert d.short_kwh == 0 and d.ready_at is not None and d.ready_at > now
        [switching] = phase_switching(s, site).values()
        assert switching.enabled and switching.phases == 3
