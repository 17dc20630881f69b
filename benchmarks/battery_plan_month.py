"""A month of 20 simulated homes on a dynamic tariff: optimised plans against plain
self-consumption, from the same weather, loads and prices.

The homes are the simulator's (``simulator.fleet.make_homes``: German places, PV 3-12 kWp,
batteries 5-15 kWh, 2,000-6,000 kWh/a), with the simulator's weather (the DWD typical year of
their station, so cloudy and sunny days as they come) and household load (BDEW H25 with the
simulator's noise and appliance events): that is what happens. March 2026, 15-minute steps.

Prices: a day-ahead spot of the demo's shape (cheap at night and midday, dear in the evening)
with a level that wanders from day to day and noise per hour; import = (spot + 0.02 markup +
0.11 grid fee) x 1.19 VAT (the demo's market tariff), export 0.082 fixed (the demo's feed-in).

Optimised: every hour the plan is made again over the next 24 h (``usecases.battery_plan``,
HiGHS), from forecasts, not from what will happen: PV from the clear sky scaled by the last
3 days' measured over clear-sky energy, load from the home's own last 14 days by day type and
quarter hour (the H25 profile until a week of history exists), as ``voltfleet.forecast`` does;
wear 0.05 EUR per kWh discharged, as the API's default. The next hour is then run the way the
platform's commands run a battery (``domain.optimisation.control``): charge or discharge at the
planned power, idle, or self-consumption, within the battery's state of charge, the grid taking
the rest; with ``follow_home`` (the default here; ``--setpoints`` for the API's default) every
step that only serves the home is self-consumption. ``--perfect`` plans with what will happen
instead of forecasts (the plan's ceiling); ``--weather`` takes the PV from the simulator's
weather as a weather forecast (``forecast.simulated_forecast`` in hourly means, rebuilt at each
quarter hour by ``forecast.hourly_sky``, as ``VOLTFLEET_WEATHER_FORECAST=simulated`` does),
scaled by the measured days the same way; ``--quick`` runs 5 homes.
Self-consumption: the battery charges from PV surplus and covers the load.

Printed: per home and in all, the month's energy bill of each (import paid less export earned),
the stored energy left at the end valued at the month's mean import price times the round trip,
and the difference in EUR and percent.

    .venv/bin/python benchmarks/battery_plan_month.py
"""

from __future__ import annotations

import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from voltfleet.domain.commands import BatteryMode
from voltfleet.domain.optimisation.control import command_intervals
from voltfleet.domain.optimisation.forecast import load_from_history, pv_correction
from voltfleet.domain.optimisation.problem import Battery, PlanProblem
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.model import HomeSpec, load_power_w, pv_power_w
from voltfleet.simulator.weather import household_shape_w_per_kwh, irradiance
from voltfleet.solver.highs import HighsPlanSolver
from voltfleet.usecases.battery_plan import plan_battery

HOMES = 20
START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 31
WARMUP_DAYS = 14  # history before the month: what the forecasts learn from
STEP = timedelta(minutes=15)
HORIZON = 96  # 24 h
REPLAN = 4  # every hour
WEAR = 0.05
EXPORT = 0.082
PERFECT = "--perfect" in sys.argv
WEATHER = "--weather" in sys.argv
FOLLOW = "--setpoints" not in sys.argv  # the plan's commands (domain.optimisation.control)
HOMES = 5 if "--quick" in sys.argv else HOMES


def spot_prices(n: int, rng: np.random.Generator) -> np.ndarray:
    t = START - timedelta(days=WARMUP_DAYS)
    hours = np.array([(t + i * STEP).hour for i in range(n)])
    local = (hours + 1) % 24
    shape = (
        0.09
        + 0.05 * np.cos((local - 19) / 24 * 2 * math.pi)
        - 0.04 * ((local >= 11) & (local <= 15))
    )
    days = n // 96 + 1
    level = np.cumsum(rng.normal(0, 0.015, days))
    level = level - level.mean()
    hourly_noise = np.repeat(rng.normal(0, 0.012, n // 4 + 1), 4)[:n]
    return shape + np.repeat(level, 96)[:n] + hourly_noise


def simulate_sc(
    pv: np.ndarray, load: np.ndarray, b: Battery, e0: float
) -> tuple[np.ndarray, float]:
    e, lo, hi = e0, b.floor_soc * b.capacity_wh, b.soc_max * b.capacity_wh
    grid = np.empty(len(pv))
    for t in range(len(pv)):
        net = pv[t] - load[t]
        if net > 0:
            p = min(net, b.max_charge_w, max(hi - e, 0) / (0.25 * b.charge_efficiency))
            e += p * 0.25 * b.charge_efficiency
        else:
            p = -min(-net, b.max_discharge_w, max(e - lo, 0) * b.discharge_efficiency / 0.25)
            e += p * 0.25 / b.discharge_efficiency
        grid[t] = load[t] - pv[t] + p
    return grid, e


def run_step(
    mode: BatteryMode, power: float, pv: float, load: float, b: Battery, e: float
) -> tuple[float, float]:
    """One step of a battery under a command: (grid W, stored Wh after)."""
    lo, hi = b.floor_soc * b.capacity_wh, b.soc_max * b.capacity_wh
    if mode is BatteryMode.SELF_CONSUMPTION:
        power = pv - load
    if power > 0:
        p = min(power, b.max_charge_w, max(hi - e, 0) / (0.25 * b.charge_efficiency))
        e += p * 0.25 * b.charge_efficiency
    elif power < 0:
        p = -min(-power, b.max_discharge_w, max(e - lo, 0) * b.discharge_efficiency / 0.25)
        e += p * 0.25 / b.discharge_efficiency
    else:
        p = 0.0
    return load - pv + p, e


def bill(grid: np.ndarray, imp: np.ndarray) -> float:
    return float(np.sum(np.where(grid > 0, grid * imp, grid * EXPORT)) * 0.25 / 1000)


def home_month(
    i: int, spec: HomeSpec, imp: np.ndarray, solver: HighsPlanSolver
) -> tuple[float, float, float, float]:
    assert spec.battery is not None
    n_all = (WARMUP_DAYS + DAYS) * 96 + HORIZON
    t0 = START - timedelta(days=WARMUP_DAYS)
    times = tuple(t0 + k * STEP for k in range(n_all))
    mid = tuple(t + STEP / 2 for t in times)
    pv = pv_power_w(spec.pv, irradiance("try", mid, spec.latitude, spec.longitude))
    clear = pv_power_w(spec.pv, irradiance("clearsky", mid, spec.latitude, spec.longitude))
    if WEATHER:  # the sky of the weather forecast instead of the clear sky
        from voltfleet.forecast.hourly_sky import irradiance_at
        from voltfleet.forecast.simulated_forecast import SimulatedForecast

        hours = SimulatedForecast().hourly(spec.latitude, spec.longitude, times[0], mid[-1])
        clear = pv_power_w(spec.pv, irradiance_at(hours, mid, spec.latitude, spec.longitude))
    shape = household_shape_w_per_kwh(mid, spec.timezone, spec.country)
    load = load_power_w(spec.annual_kwh, shape, 900.0, np.random.default_rng([spec.seed, 99]))
    eta = math.sqrt(spec.battery.round_trip_efficiency)
    bat = Battery(
        capacity_wh=spec.battery.capacity_wh,
        max_charge_w=spec.battery.max_charge_w,
        max_discharge_w=spec.battery.max_discharge_w,
        soc_init=0.5,
        soc_min=spec.battery.soc_min,
        soc_max=spec.battery.soc_max,
        charge_efficiency=eta,
        discharge_efficiency=eta,
        wear_cost_per_kwh=WEAR,
    )
    tz = ZoneInfo(spec.timezone)
    hol = holidays.country_holidays("DE", years=[2026])
    m0, m1 = WARMUP_DAYS * 96, (WARMUP_DAYS + DAYS) * 96
    # self-consumption over the month
    sc_grid, sc_e = simulate_sc(pv[m0:m1], load[m0:m1], bat, 0.5 * bat.capacity_wh)
    # optimised: re-planned every hour from forecasts, run as the commands run a battery
    e = 0.5 * bat.capacity_wh
    grid = np.empty(m1 - m0)
    day_fc: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k in range(m0, m1, REPLAN):
        day = k // 96
        if day not in day_fc:  # forecasts made once a day, at midnight UTC, for 2 days
            lo = max(0, day * 96 - 3 * 96)
            factor = pv_correction(pv[lo : day * 96], clear[lo : day * 96])
            span = range(day * 96, min(day * 96 + 2 * 96, n_all))
            hist = [(times[j], float(load[j])) for j in range(max(0, day * 96 - 14 * 96), day * 96)]
            own = load_from_history(hist, [times[j] for j in span], tz, hol)
            lf = (
                np.asarray(own)
                if own is not None
                else shape[span.start : span.stop] * spec.annual_kwh
            )
            day_fc[day] = (clear[span.start : span.stop] * factor, lf)
        fpv, fload = day_fc[day]
        if PERFECT:  # what will happen, as the forecast (the plan's own ceiling)
            fpv, fload = pv[day * 96 : day * 96 + 192], load[day * 96 : day * 96 + 192]
        off = k - day * 96
        problem = PlanProblem(
            step_h=0.25,
            pv_w=fpv[off : off + HORIZON],
            load_w=fload[off : off + HORIZON],
            import_price_per_kwh=imp[k : k + HORIZON],
            export_price_per_kwh=[EXPORT] * HORIZON,
            battery=Battery(**{**bat.__dict__, "soc_init": e / bat.capacity_wh}),
            terminal_value_per_kwh=max(float(imp[k : k + HORIZON].min()), 0)
            * bat.round_trip_efficiency,
        )
        plan = plan_battery(solver, problem, time_limit_s=5)
        limit = max(bat.max_charge_w, bat.max_discharge_w)
        intervals = command_intervals(
            plan, times[k], STEP, list(problem.import_price_per_kwh), limit, follow_home=FOLLOW
        )
        for s in range(REPLAN):
            at = times[k + s]
            it = next(x for x in intervals if x.start <= at < x.end)
            grid[k + s - m0], e = run_step(
                it.mode, it.battery_power_w, pv[k + s], load[k + s], bat, e
            )
    value = float(imp[m0:m1].mean()) * bat.round_trip_efficiency / 1000
    # the battery's wear counts for both: what each discharged (AC) at WEAR per kWh
    wear_opt = WEAR * float(np.clip(-(grid - load[m0:m1] + pv[m0:m1]), 0, None).sum()) * 0.25 / 1000
    wear_sc = (
        WEAR * float(np.clip(-(sc_grid - load[m0:m1] + pv[m0:m1]), 0, None).sum()) * 0.25 / 1000
    )
    opt = bill(grid, imp[m0:m1]) - e * value
    sc = bill(sc_grid, imp[m0:m1]) - sc_e * value
    return opt, sc, wear_opt, wear_sc


def main() -> None:
    rng = np.random.default_rng(2026)
    n_all = (WARMUP_DAYS + DAYS) * 96 + HORIZON
    spot = spot_prices(n_all, rng)
    imp = (spot + 0.02 + 0.11) * 1.19
    homes = [h for h in make_homes(60, seed=14) if h.battery is not None][:HOMES]
    solver = HighsPlanSolver()
    t0 = time.perf_counter()
    print(f"{len(homes)} homes, March 2026 at 15 min, re-planned hourly over 24 h (bills in EUR)")
    print("  home  kWp   kWh  kWh/a   bill: self-cons. optimised   wear: self-cons. optimised")
    tot = np.zeros(4)
    for i, spec in enumerate(homes):
        o, s, wo, ws = home_month(i, spec, imp, solver)
        tot += (o, s, wo, ws)
        assert spec.battery is not None
        print(
            f"  {i + 1:4d} {spec.pv.capacity_wp / 1000:4.1f} "
            f"{spec.battery.capacity_wh / 1000:5.1f} {spec.annual_kwh:6.0f} "
            f"{s:16.2f} {o:10.2f} {ws:16.2f} {wo:10.2f}"
        )
    o, s, wo, ws = tot
    n = len(homes)
    print(
        f"all ({'perfect forecasts' if PERFECT else 'forecasts'}"
        f"{', PV from the weather forecast' if WEATHER else ''}, "
        f"{'follow_home' if FOLLOW else 'setpoints'}): net energy bill (import paid less export "
        f"earned, stored energy left valued) self-consumption {s:.2f} EUR, optimised {o:.2f} EUR: "
        f"{s - o:+.2f} EUR saved ({(s - o) / n:+.2f} EUR per home and month, "
        f"{(s - o) / abs(s) * 100:+.1f} % of the bill's size); counting the batteries' wear "
        f"at {WEAR} EUR/kWh discharged ({ws:.2f} vs {wo:.2f} EUR): {s + ws - o - wo:+.2f} EUR; "
        f"{time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
