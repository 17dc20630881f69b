"""The battery plan as a linear program in HiGHS (``highspy``), built once and updated.

The model (kW, kWh and the currency; one block of columns per quantity, ``n`` steps each):

    columns  imp[t] in [0, import_max]   exp[t] in [0, export_max]   (grid, kW)
             ch[t]  in [0, charge_max]   dis[t] in [0, discharge_max] (battery, AC side, kW)
             cur[t] in [0, pv[t]] (0 where curtailing is not allowed)   (PV curtailed, kW)
             e[t]   in [floor, max] stored energy at the end of step t (kWh)
    rows     balance[t]: imp - exp - ch + dis - cur = load - pv
             store[t]:   e[t] - e[t-1] - eta_c dt ch[t] + dt/eta_d dis[t] = 0   (e[-1] = e_init)
    minimise sum_t dt (p_imp imp - p_exp exp + wear dis) - v_end e[n-1]
             + dt * THROUGHPUT_COST (ch + dis) + dt * CURTAIL_COST cur

The tiny throughput cost breaks ties between equal-cost plans towards less battery throughput
(no cycling for nothing); it moves the plan's true cost by at most THROUGHPUT_COST per kWh
cycled. The plan's cost is computed afterwards from the plan itself (domain ``plan_cost``).

Only the matrix depends on the battery's efficiencies, the step and the number of steps; one
HiGHS instance per such shape is kept, and each solve changes only costs and bounds
(changeColsCost / changeColsBounds / changeRowsBounds), so HiGHS starts from the basis of the
previous solve (a hot start) instead of from nothing.

Where the LP relaxation can profit from physically impossible flows (importing and exporting in
the same step when export pays more than import; charging and discharging at once to burn
energy at negative prices), the answer is checked, and only then the offending steps get a
binary each and the problem is solved again as a MILP ("integers only where needed").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from voltfleet.domain.optimisation.plan import BatteryPlan, SolverFailed, plan_cost
from voltfleet.domain.optimisation.problem import PlanProblem

THROUGHPUT_COST = 1e-5  # per kWh charged or discharged (a tie-breaker, not a price)
CURTAIL_COST = 2e-5  # per kWh curtailed: curtail only when it strictly pays
SIMULTANEOUS_KW = 1e-4  # flows both ways in one step above this call for integers
_INF = highspy.kHighsInf

# column blocks
IMP, EXP, CH, DIS, CUR, E = range(6)


@dataclass(frozen=True)
class _Shape:
    n: int
    step_h: float
    eta_c: float
    eta_d: float


def _shape(p: PlanProblem) -> _Shape:
    b = p.battery
    return _Shape(p.steps, p.step_h, b.charge_efficiency, b.discharge_efficiency)


def _matrix(s: _Shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The constraint matrix, column-wise (start, index, value); rows 0..n-1 balance,
    n..2n-1 store."""
    n, dt = s.n, s.step_h
    starts, index, value = [0], [], []

    def col(entries: list[tuple[int, float]]) -> None:
        for r, v in entries:
            index.append(r)
            value.append(v)
        starts.append(len(index))

    for t in range(n):
        col([(t, 1.0)])  # imp
    for t in range(n):
        col([(t, -1.0)])  # exp
    for t in range(n):
        col([(t, -1.0), (n + t, -s.eta_c * dt)])  # ch
    for t in range(n):
        col([(t, 1.0), (n + t, dt / s.eta_d)])  # dis
    for t in range(n):
        col([(t, -1.0)])  # cur
    for t in range(n):
        col([(n + t, 1.0)] + ([(n + t + 1, -1.0)] if t + 1 < n else []))  # e
    return (
        np.asarray(starts, dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        np.asarray(value, dtype=np.float64),
    )


@dataclass
class _Data:
    cost: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray


def _data(p: PlanProblem) -> _Data:
    b, g, n, dt = p.battery, p.grid, p.steps, p.step_h
    pv = np.asarray(p.pv_w, dtype=np.float64) / 1000
    load = np.asarray(p.load_w, dtype=np.float64) / 1000
    pi = np.asarray(p.import_price_per_kwh, dtype=np.float64)
    pe = np.asarray(p.export_price_per_kwh, dtype=np.float64)
    cap = b.capacity_wh / 1000
    e0 = b.soc_init * cap
    cost = np.empty(6 * n)
    cost[IMP * n : (IMP + 1) * n] = pi * dt
    cost[EXP * n : (EXP + 1) * n] = -pe * dt
    cost[CH * n : (DIS + 1) * n] = THROUGHPUT_COST * dt
    cost[DIS * n : (DIS + 1) * n] += b.wear_cost_per_kwh * dt
    cost[CUR * n : (CUR + 1) * n] = CURTAIL_COST * dt
    cost[E * n : (E + 1) * n] = 0.0
    cost[E * n + n - 1] = -p.terminal_value_per_kwh
    lo = np.zeros(6 * n)
    hi = np.empty(6 * n)
    hi[IMP * n : (IMP + 1) * n] = min(g.import_max_w / 1000, 1e7)
    hi[EXP * n : (EXP + 1) * n] = min(g.export_max_w / 1000, 1e7)
    hi[CH * n : (CH + 1) * n] = b.max_charge_w / 1000
    hi[DIS * n : (DIS + 1) * n] = b.max_discharge_w / 1000
    hi[CUR * n : (CUR + 1) * n] = pv if g.curtail else 0.0
    # a battery that starts outside its bounds may stay there, not go further
    lo[E * n : (E + 1) * n] = min(b.floor_soc * cap, e0)
    hi[E * n : (E + 1) * n] = max(b.soc_max * cap, e0)
    if b.final_soc_min is not None:
        lo[E * n + n - 1] = max(lo[E * n + n - 1], b.final_soc_min * cap)
    if p.hold_first_w is not None:
        w = p.hold_first_w / 1000
        lo[CH * n] = hi[CH * n] = max(w, 0.0)
        lo[DIS * n] = hi[DIS * n] = max(-w, 0.0)
    rlo = np.zeros(2 * n)
    rlo[:n] = load - pv
    rlo[n] = e0
    return _Data(cost, lo, hi, rlo, rlo.copy())


_STATUS_OK = {highspy.HighsModelStatus.kOptimal}


class _Model:
    """One HiGHS instance holding the LP of one shape; solves are updates of costs and bounds."""

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        n = shape.n
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        starts, index, value = _matrix(shape)
        zeros_c, zeros_r = np.zeros(6 * n), np.zeros(2 * n)
        self.h.passModel(self._lp(6 * n, 2 * n, zeros_c, zeros_r, starts, index, value))
        self.cols = np.arange(6 * n, dtype=np.int32)
        self.rows = np.arange(2 * n, dtype=np.int32)

    @staticmethod
    def _lp(
        nc: int,
        nr: int,
        zc: np.ndarray,
        zr: np.ndarray,
        starts: np.ndarray,
        index: np.ndarray,
        value: np.ndarray,
    ) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_ = nc
        lp.num_row_ = nr
        lp.col_cost_ = zc
        lp.col_lower_ = zc
        lp.col_upper_ = zc
        lp.row_lower_ = zr
        lp.row_upper_ = zr
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = value
        return lp

    def solve(self, d: _Data, time_limit_s: float) -> np.ndarray:
        h = self.h
        nc, nr = len(self.cols), len(self.rows)
        # HiGHS's time limit counts the instance's whole run time, every solve so far
        # included: the limit of this solve starts from what has been used
        h.setOptionValue("time_limit", h.getRunTime() + float(time_limit_s))
        h.changeColsCost(nc, self.cols, d.cost)
        h.changeColsBounds(nc, self.cols, d.col_lo, d.col_hi)
        h.changeRowsBounds(nr, self.rows, d.row_lo, d.row_hi)
        h.run()
        status = h.getModelStatus()
        if status not in _STATUS_OK:
            reason = h.modelStatusToString(status)
            # a failed solve can leave a basis that hurts the next one: start afresh
            h.clearSolver()
            raise SolverFailed(f"HiGHS: {reason}")
        return np.asarray(h.getSolution().col_value)


def _simultaneous(x: np.ndarray, n: int) -> tuple[list[int], list[int]]:
    both_grid = np.minimum(x[IMP * n : (IMP + 1) * n], x[EXP * n : (EXP + 1) * n])
    both_batt = np.minimum(x[CH * n : (CH + 1) * n], x[DIS * n : (DIS + 1) * n])
    return (
        [int(t) for t in np.nonzero(both_grid > SIMULTANEOUS_KW)[0]],
        [int(t) for t in np.nonzero(both_batt > SIMULTANEOUS_KW)[0]],
    )


def _milp(
    p: PlanProblem, d: _Data, grid_steps: list[int], batt_steps: list[int], limit_s: float
) -> np.ndarray:
    """The LP plus one binary per step that flowed both ways: y=1 import (else export), z=1
    charge (else discharge)."""
    s = _shape(p)
    n = s.n
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(limit_s))
    h.setOptionValue("mip_rel_gap", 1e-7)
    starts, index, value = _matrix(s)
    h.passModel(_Model._lp(6 * n, 2 * n, d.cost, d.row_lo, starts, index, value))
    h.changeColsBounds(6 * n, np.arange(6 * n, dtype=np.int32), d.col_lo, d.col_hi)
    h.changeRowsBounds(2 * n, np.arange(2 * n, dtype=np.int32), d.row_lo, d.row_hi)
    pairs = [(IMP, EXP, t) for t in grid_steps] + [(CH, DIS, t) for t in batt_steps]
    for a, b_, t in pairs:
        ia, ib = a * n + t, b_ * n + t
        ma, mb = float(d.col_hi[ia]), float(d.col_hi[ib])
        h.addVar(0.0, 1.0)
        y = h.getNumCol() - 1
        h.changeColIntegrality(y, highspy.HighsVarType.kInteger)
        h.addRow(-_INF, 0.0, 2, np.array([ia, y], dtype=np.int32), np.array([1.0, -ma]))
        h.addRow(-_INF, mb, 2, np.array([ib, y], dtype=np.int32), np.array([1.0, mb]))
    h.run()
    status = h.getModelStatus()
    if status not in _STATUS_OK:
        raise SolverFailed(f"HiGHS MILP: {h.modelStatusToString(status)}")
    return np.asarray(h.getSolution().col_value)[: 6 * n]


class HighsPlanSolver:
    """``ports.PlanSolver`` on HiGHS. Keeps one model per shape (steps, step, efficiencies)
    and updates it for each problem; not thread-safe (one per worker)."""

    def __init__(self) -> None:
        self._models: dict[_Shape, _Model] = {}

    def solve(self, problem: PlanProblem, *, time_limit_s: float) -> BatteryPlan:
        started = time.perf_counter()
        shape = _shape(problem)
        model = self._models.get(shape)
        if model is None:
            model = self._models[shape] = _Model(shape)
        d = _data(problem)
        x = model.solve(d, time_limit_s)
        method = "highs-lp"
        grid_steps, batt_steps = _simultaneous(x, shape.n)
        if grid_steps or batt_steps:
            # every step where flowing both ways can pay gets its binary, so one MILP is
            # usually enough; a step found afterwards still flowing both ways is added
            pi, pe = problem.import_price_per_kwh, problem.export_price_per_kwh
            grid_b = set(grid_steps) | {t for t in range(shape.n) if pe[t] > pi[t]}
            batt_b = set(batt_steps) | {t for t in range(shape.n) if min(pi[t], pe[t]) < 0}
            for _ in range(shape.n):
                left = time_limit_s - (time.perf_counter() - started)
                if left <= 0:
                    raise SolverFailed("time limit reached before the MILP was solved")
                x = _milp(problem, d, sorted(grid_b), sorted(batt_b), left)
                more_grid, more_batt = _simultaneous(x, shape.n)
                if set(more_grid) <= grid_b and set(more_batt) <= batt_b:
                    break
                grid_b |= set(more_grid)
                batt_b |= set(more_batt)
            method = "highs-milp"
        return _plan(problem, x, method, time.perf_counter() - started)

    def solve_many(
        self, problems: Sequence[PlanProblem], *, time_limit_s: float
    ) -> list[BatteryPlan | SolverFailed]:
        """Each problem in turn on the kept models (each solve starts from the previous
        one's basis); a failure is returned in its place, not raised."""
        out: list[BatteryPlan | SolverFailed] = []
        for p in problems:
            try:
                out.append(self.solve(p, time_limit_s=time_limit_s))
            except SolverFailed as exc:
                out.append(exc)
        return out


def _plan(p: PlanProblem, x: np.ndarray, method: str, solve_s: float) -> BatteryPlan:
    n = p.steps
    cap = p.battery.capacity_wh
    batt = (x[CH * n : (CH + 1) * n] - x[DIS * n : (DIS + 1) * n]) * 1000
    grid = (x[IMP * n : (IMP + 1) * n] - x[EXP * n : (EXP + 1) * n]) * 1000
    cur = x[CUR * n : (CUR + 1) * n] * 1000
    soc = x[E * n : (E + 1) * n] * 1000 / cap
    grid_t, soc_t, batt_t = tuple(grid.tolist()), tuple(soc.tolist()), tuple(batt.tolist())
    return BatteryPlan(
        step_h=p.step_h,
        battery_power_w=batt_t,
        grid_power_w=grid_t,
        curtail_w=tuple(cur.tolist()),
        soc=soc_t,
        cost=plan_cost(p, grid_t, soc_t, batt_t),
        method=method,
        solve_s=solve_s,
    )
