"""domain.optimisation.ledger: FIFO provenance of stored energy, losses and savings, by hand."""

from __future__ import annotations

import pytest

from voltfleet.domain.optimisation.ledger import ledger


def test_solar_first_then_grid_fifo_to_home_then_grid() -> None:
    # hourly: 1) 3 kW PV, 1 kW load, charging 3 kW: 2 kWh solar + 1 kWh grid
    #         2) night, load 1 kW, discharging 2 kW: 1 kWh home, 1 kWh grid
    got = ledger(
        1.0,
        battery_w=[3000, -2000],
        pv_w=[3000, 0],
        load_w=[1000, 1000],
        import_price_per_kwh=[0.30, 0.40],
        export_price_per_kwh=[0.08, 0.10],
        charge_efficiency=0.9,
        discharge_efficiency=0.9,
    )
    assert got.charged_kwh == {"solar": 2.0, "grid": 1.0, "initial": 0.0}
    # 2 kWh delivered need 2 / 0.9 = 2.222 kWh out of the store: all of the solar lot (1.8
    # stored: the home's 1 kWh, then 1.8 x 0.9 - 1 = 0.62 kWh to the grid), then 0.422 of the
    # grid lot (0.9 stored: the grid's other 0.38 kWh)
    assert got.delivered_kwh[("solar", "home")] == pytest.approx(1.0)
    assert got.delivered_kwh[("solar", "grid")] == pytest.approx(1.8 * 0.9 - 1)
    assert got.delivered_kwh[("grid", "grid")] == pytest.approx(2 - 1.8 * 0.9)
    assert got.stored_kwh["grid"] == pytest.approx(0.9 - (2 / 0.9 - 1.8))
    # losses: 10 % of 3 kWh in, and 2 / 0.9 - 2 out
    assert got.losses_kwh == pytest.approx(0.3 + 2 / 0.9 - 2)
    # value: 1 kWh at 0.40 to the home, 1 kWh at 0.10 to the grid
    assert got.value == pytest.approx(0.40 + 0.10)
    # cost: solar at 0.08 / 0.9 per stored kWh (1.8 taken), grid at 0.30 / 0.9 (0.422 taken)
    assert got.cost == pytest.approx(1.8 * 0.08 / 0.9 + (2 / 0.9 - 1.8) * 0.30 / 0.9)
    assert got.savings == pytest.approx(got.value - got.cost)


def test_initial_energy_leaves_first_and_costs_nothing() -> None:
    got = ledger(
        0.5,
        battery_w=[2000, -1000],
        pv_w=[0, 0],
        load_w=[0, 1000],
        import_price_per_kwh=[0.1, 0.3],
        export_price_per_kwh=[0.0, 0.0],
        charge_efficiency=1.0,
        discharge_efficiency=1.0,
        initial_kwh=0.4,
    )
    assert got.delivered_kwh[("initial", "home")] == pytest.approx(0.4)
    assert got.delivered_kwh[("grid", "home")] == pytest.approx(0.1)
    assert got.stored_kwh == {"solar": 0.0, "grid": pytest.approx(0.9), "initial": 0.0}
    assert got.savings == pytest.approx(0.5 * 0.3 - 0.1 * 0.1)


def test_energy_out_beyond_what_went_in_was_stored_before() -> None:
    got = ledger(1.0, [-1000], [0], [1000], [0.3], [0.0], discharge_efficiency=1.0)
    assert got.delivered_kwh[("initial", "home")] == pytest.approx(1.0)
    assert got.savings == pytest.approx(0.3)
