"""What a simulated gateway reports: the site's balance holds in its readings, also while the
EV charges (the inverter's load is all the site consumes; the charger reports the EV's share)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.simulator.test_model import home
from voltfleet.simulator.client import HomeAccount
from voltfleet.simulator.fleet import readings_for
from voltfleet.simulator.model import Counters, StepInput, initial_state, step

START = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
ACC = HomeAccount(0, "site", "GW", "INV", "BAT", "MTR", {}, "vfg_x")


def values(readings: list[dict[str, Any]]) -> dict[str, float]:
    return {str(r["point"]): float(r["value"]) for r in readings}


@pytest.mark.parametrize("pv_w", [0.0, 6_000.0])
def test_pv_and_grid_make_the_load_and_the_battery_while_the_ev_charges(pv_w: float) -> None:
    spec = home()
    state = initial_state(spec)
    offset = Counters(load_wh=1_000_000.0, ev_wh=0.0)
    first: dict[str, float] | None = None
    for k in range(1, 31):
        ts = START + timedelta(minutes=k)
        # the EV arrives wanting 20 kWh at the first step and charges on
        inp = StepInput(pv_w, 600.0, ev_plugged=True, ev_arrival_need_wh=20_000.0 if k == 1 else 0)
        state, s = step(spec, state, inp, ts, 60.0)
        assert s.ev_w > 0
        got = values(readings_for(ACC, ts, offset.plus(s.counters), s, s.soc))
        balance = got["pv_power_w"] + got["grid_power_w"]
        assert balance == pytest.approx(got["load_power_w"] + got["battery_power_w"], abs=0.2)
        assert got["load_power_w"] == pytest.approx(600.0 + s.ev_w, abs=0.1)
        first = first or got
    assert first is not None
    # the load counter counts the EV's energy too, so the site's energy balance closes
    consumed = got["load_energy_wh"] - first["load_energy_wh"]
    imported = got["grid_import_energy_wh"] - first["grid_import_energy_wh"]
    exported = got["grid_export_energy_wh"] - first["grid_export_energy_wh"]
    pv = got["pv_energy_wh"] - first["pv_energy_wh"]
    charged = got["battery_charge_energy_wh"] - first["battery_charge_energy_wh"]
    discharged = got["battery_discharge_energy_wh"] - first["battery_discharge_energy_wh"]
    assert pv + imported - exported + discharged - charged == pytest.approx(consumed, abs=0.01)
    assert consumed > 29 * 600.0 / 60
