"""EMHASS's side of benchmarks/battery_plan.py: runs in EMHASS's own virtualenv (never in
voltfleet's), reads the problem as JSON on stdin, solves it with EMHASS's Optimization class
(CVXPY + HiGHS, the MILP EMHASS builds) and prints the plan, its cost and the times as JSON.

Times: ``first_s`` is the first solve (CVXPY builds and compiles the problem); ``repeat_s`` are
the repeated solves on the same Optimization object (EMHASS keeps the CVXPY problem and only
updates its parameters), each with different prices as the rolling cycle would bring;
everything inside ``perform_optimization`` is timed, including building its result table.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import sys
import time

import numpy as np
import pandas as pd
from emhass import utils
from emhass.optimization import Optimization


def params(job: dict) -> tuple[dict, dict, dict]:
    root = pathlib.Path(utils.__file__).parent
    emhass_conf = {
        "root_path": root,
        "data_path": pathlib.Path("/tmp"),
        "defaults_path": root / "data" / "config_defaults.json",
        "associations_path": root / "data" / "associations.csv",
    }
    log = logging.getLogger("emhass")
    log.setLevel(logging.ERROR)
    config = asyncio.run(utils.build_config(emhass_conf, log, emhass_conf["defaults_path"]))
    b = job["battery"]
    config.update(
        {
            "optimization_time_step": int(job["step_h"] * 60),
            "delta_forecast_daily": job["hours"] / 24,
            "costfun": "profit",
            "number_of_deferrable_loads": 0,
            "nominal_power_of_deferrable_loads": [],
            "operating_hours_of_each_deferrable_load": [],
            "start_timesteps_of_each_deferrable_load": [],
            "end_timesteps_of_each_deferrable_load": [],
            "minimum_power_of_deferrable_loads": [],
            "treat_deferrable_load_as_semi_cont": [],
            "set_deferrable_load_single_constant": [],
            "set_deferrable_startup_penalty": [],
            "cost_forecast_per_deferrable_load": [],
            "deferrable_load_max_cost": [],
            "set_deferrable_max_startups": [],
            "set_use_battery": True,
            "set_nocharge_from_grid": False,
            "set_nodischarge_to_grid": False,  # voltfleet's model lets the battery export
            "compute_curtailment": True,
            "inverter_is_hybrid": False,
            "maximum_power_from_grid": job["import_max_w"],
            "maximum_power_to_grid": job["export_max_w"],
            # voltfleet limits the AC side; EMHASS scales its charge limit by the efficiency
            # before use (AC charge <= the limit) and caps AC discharge at the limit times the
            # discharge efficiency: given so, both limit the same AC powers
            "battery_charge_power_max": b["max_charge_w"],
            "battery_discharge_power_max": b["max_discharge_w"] / b["discharge_efficiency"],
            "battery_charge_efficiency": b["charge_efficiency"],
            "battery_discharge_efficiency": b["discharge_efficiency"],
            "battery_nominal_energy_capacity": b["capacity_wh"],
            "battery_minimum_state_of_charge": b["soc_min"],
            "battery_maximum_state_of_charge": b["soc_max"],
            "num_threads": 1,
            # 0.01 is its shipped default; EMHASS passes a gap only when > 0 (at 0 HiGHS keeps
            # its own 1e-4), so the benchmark asks for 1e-9 when it wants the exact optimum
            "lp_solver_mip_rel_gap": job.get("mip_rel_gap", 0.01),
        }
    )
    built = asyncio.run(utils.build_params(emhass_conf, {}, config, log))
    return (*utils.get_yaml_parse(built, log), emhass_conf, log)  # type: ignore[return-value]


def main() -> None:
    job = json.load(sys.stdin)
    retrieve_hass_conf, optim_conf, plant_conf, emhass_conf, log = params(job)
    n = len(job["cycles"][0]["pv_w"])
    index = pd.date_range("2026-03-02", periods=n, freq=f"{int(job['step_h'] * 60)}min", tz="UTC")
    retrieve_hass_conf["time_zone"] = index.tz
    opt = Optimization(
        retrieve_hass_conf,
        optim_conf,
        plant_conf,
        "unit_load_cost",
        "unit_prod_price",
        "profit",
        emhass_conf,
        log,
        opt_time_delta=job["hours"],
        num_timesteps=n,
    )
    b = job["battery"]
    times, costs, statuses = [], [], []
    for cycle in job["cycles"]:
        imp, exp = np.asarray(cycle["import"]), np.asarray(cycle["export"])
        data = pd.DataFrame({"unit_load_cost": imp, "unit_prod_price": exp}, index=index)
        t0 = time.perf_counter()
        res = opt.perform_optimization(
            data,
            np.asarray(cycle["pv_w"]),
            np.asarray(cycle["load_w"]),
            imp,
            exp,
            soc_init=cycle["soc_init"],
            soc_final=b["final_soc"],
        )
        times.append(time.perf_counter() - t0)
        grid = (res["P_grid_pos"] + res["P_grid_neg"]).to_numpy()
        statuses.append(str(res["optim_status"].iloc[0]))
        # the plan's cost as voltfleet counts it: import at the import price, export at the
        # export price (EMHASS's final state of charge is the same as voltfleet's)
        costs.append(
            float(np.sum(np.where(grid > 0, grid * imp, grid * exp)) * job["step_h"] / 1000)
        )
    print(
        json.dumps(
            {"first_s": times[0], "repeat_s": times[1:], "costs": costs, "statuses": statuses}
        )
    )


if __name__ == "__main__":
    main()
