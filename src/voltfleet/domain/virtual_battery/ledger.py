"""The ledger of a virtual battery over the intervals of its house meter. Pure.

Per interval the house meter says how much energy was exported (``export_wh``) and imported
(``import_wh``). The battery holds ``level_wh`` (0 <= level <= capacity; capacity 0 means no
limit):

* **Both flows in one interval are netted** (decided for issue 17): within an interval the order
  of import and export is unknown (a 15-minute counter pair does not say whether the cloud came
  before or after the kettle), and the settlement of the grid works per interval as well. So
  ``net_wh = export_wh - import_wh``: a positive net charges the battery, a negative one
  discharges it. The part both flows have in common (``min(import, export)``) is *self-netted*:
  it never touches the battery and is neither bought nor sold. "Gross in order" would instead
  charge the export first and then serve the import from it, which gives the same result whenever
  the battery can take the whole export; it differs only at the capacity limit or at an empty
  battery, where it would depend on an order the data does not have.
* **Charge**: a positive net charges the battery up to its capacity; the rest is ``spilled_wh``
  (ordinary export, sold to the grid as without a virtual battery).
* **Discharge**: a negative net is served from the battery while it holds energy
  (``discharged_wh``); the rest is ``grid_import_wh`` (ordinary import, bought).
* **Reset**: at an interval flagged ``reset`` the level returns to 0 *before* that interval's
  flows; what it held is ``forfeited_wh``.

Energy is conserved every interval, and this module's tests hold it as a property::

    net export offered = charged + spilled
    level[i] = level[i-1] - forfeited[i] + charged[i] - discharged[i]

so, summed from the start, charged = discharged + level + forfeited; with ``spilled`` counted
in the export credited to the battery: credited = discharged + level + spilled + forfeited.

Two implementations, equal to the last floating-point rounding (the tests say so over random
meter data): ``run_plain`` (the rule as a Python loop, one interval after another) and
``run_fast`` (numpy). The level is a running sum clamped to [0, capacity], which is sequential by
nature; the fast path avoids a Python loop over intervals:

* **Unlimited capacity**: the running-minimum trick. With ``S`` the running sum of the net flows,
  a sum clamped only at 0 is ``S[i] - min(0, min(S[0..i]))`` (the lowest point reached is where
  the battery was last empty). Resets cut the series into segments, done one by one.
* **Capped**: by segments of fixed length (blocks). A first version cut segments where the
  battery hit its capacity (floor-clamped running minimum inside, a new segment from each hit):
  a battery that sits full through a sunny noon hits it thousands of times a year, and the
  per-segment numpy calls made it slower than the plain loop. Instead each interval is a clamp
  function of the level before it, such functions compose into one of the same form, and blocks
  of about sqrt(n) intervals are composed all at once (``_levels_capped``): the cost no longer
  depends on how often the battery is full or empty.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Ledger:
    """The ledger over n intervals: each field an array of n values, all in Wh.

    ``level_wh`` is the level at the *end* of each interval; ``charged_wh``/``discharged_wh`` what
    went into and out of the battery; ``spilled_wh`` the export above capacity (ordinary export);
    ``grid_import_wh`` the import the battery could not serve (ordinary import);
    ``forfeited_wh`` what a reset at the start of the interval took away; ``netted_wh`` the part
    of import and export of one interval that offset each other."""

    level_wh: FloatArray
    charged_wh: FloatArray
    discharged_wh: FloatArray
    spilled_wh: FloatArray
    grid_import_wh: FloatArray
    forfeited_wh: FloatArray
    netted_wh: FloatArray

    def __len__(self) -> int:
        return len(self.level_wh)

    @property
    def final_level_wh(self) -> float:
        return float(self.level_wh[-1]) if len(self.level_wh) else 0.0


def _arrays(
    import_wh: Sequence[float] | FloatArray,
    export_wh: Sequence[float] | FloatArray,
    reset: Sequence[bool] | BoolArray | None,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    imp = np.asarray(import_wh, dtype=np.float64)
    exp = np.asarray(export_wh, dtype=np.float64)
    if imp.shape != exp.shape or imp.ndim != 1:
        raise ValueError("import_wh and export_wh must be 1-d and of the same length")
    if len(imp) and (imp.min() < 0 or exp.min() < 0):
        raise ValueError("energy per interval must not be negative")
    if not (np.isfinite(imp).all() and np.isfinite(exp).all()):
        raise ValueError("energy per interval must be finite")
    res = np.zeros(len(imp), dtype=np.bool_) if reset is None else np.asarray(reset, dtype=bool)
    if res.shape != imp.shape:
        raise ValueError("reset must have one flag per interval")
    return imp, exp, res


def _check(capacity_wh: float, start_level_wh: float) -> float:
    if not capacity_wh >= 0 or capacity_wh == np.inf:
        raise ValueError("capacity_wh must be >= 0 and finite (0 means no limit)")
    cap = np.inf if capacity_wh == 0 else float(capacity_wh)
    if not 0 <= start_level_wh <= cap:
        raise ValueError("start_level_wh must lie between 0 and the capacity")
    return cap


def run_plain(
    import_wh: Sequence[float] | FloatArray,
    export_wh: Sequence[float] | FloatArray,
    capacity_wh: float = 0.0,
    reset: Sequence[bool] | BoolArray | None = None,
    start_level_wh: float = 0.0,
) -> Ledger:
    """The ledger, one interval after another: the definition, and the reference of ``run_fast``.

    ``capacity_wh`` 0 means no limit; ``reset[i]`` empties the battery before interval i;
    ``start_level_wh`` is the level before the first interval (a ledger continued from a stored
    one)."""
    imp, exp, res = _arrays(import_wh, export_wh, reset)
    cap = _check(capacity_wh, start_level_wh)
    n = len(imp)
    out = {name: [0.0] * n for name in Ledger.__dataclass_fields__}
    level = float(start_level_wh)
    for i in range(n):
        forfeited = 0.0
        if res[i]:
            forfeited, level = level, 0.0
        i_wh, e_wh = float(imp[i]), float(exp[i])
        net = e_wh - i_wh
        charged = discharged = spilled = grid = 0.0
        if net > 0:
            room = max(cap - level, 0.0)
            if net >= room:  # full: exactly the capacity, not a rounding above it
                charged, spilled, level = room, net - room, cap
            else:
                charged, level = net, level + net
        elif net < 0:
            if -net >= level:  # empty: exactly zero
                discharged, grid, level = level, -net - level, 0.0
            else:
                discharged, level = -net, level + net
        out["level_wh"][i] = level
        out["charged_wh"][i] = charged
        out["discharged_wh"][i] = discharged
        out["spilled_wh"][i] = spilled
        out["grid_import_wh"][i] = grid
        out["forfeited_wh"][i] = forfeited
        out["netted_wh"][i] = min(i_wh, e_wh)
    return Ledger(**{k: np.asarray(v, dtype=np.float64) for k, v in out.items()})


def _floor_clamped(start: float, net: FloatArray) -> FloatArray:
    """Levels of a running sum from ``start`` clamped only at 0 (the running-minimum trick)."""
    s = start + np.cumsum(net)
    return s - np.minimum(np.minimum.accumulate(s), 0.0)


def _levels_capped(net: FloatArray, cap: float, start: float, reset: BoolArray) -> FloatArray:
    """The end-of-interval levels with a capacity, by blocks (see the module's docstring).

    One interval maps the level before it to the level after it by ``x -> clip(x + d, 0, cap)``;
    the functions ``x -> clip(x + a, lo, hi)`` (lo <= hi) are closed under composition:
    ``clip(clip(x + a, lo, hi) + d, 0, cap) = clip(x + a + d, clip(lo + d, 0, cap),
    clip(hi + d, 0, cap))``, and a reset makes a constant (lo == hi). So the series is cut into
    blocks of about sqrt(n) intervals; the running composition inside every block is built one
    position at a time for all blocks at once (numpy over the blocks), the blocks' entry levels
    follow one after another (a short Python loop over blocks), and each level is its block's
    running composition applied to the block's entry level."""
    n = len(net)
    size = max(16, int(np.sqrt(n) / 3))  # measured: fewer numpy calls beat a shorter block loop
    blocks = -(-n // size)
    pad = blocks * size - n
    d = np.concatenate([net, np.zeros(pad)]).reshape(blocks, size)
    r = np.concatenate([reset, np.zeros(pad, dtype=bool)]).reshape(blocks, size)
    a = np.cumsum(d, axis=1)  # the shift never clamps; a reset makes it irrelevant (lo == hi)
    lo = np.empty((blocks, size))
    hi = np.empty((blocks, size))
    clo = np.zeros(blocks)
    chi = np.full(blocks, np.inf)  # the identity: clip(x + 0, 0, inf) on levels >= 0
    any_reset: list[bool] = np.any(r, axis=0).tolist()
    for j in range(size):
        dj = d[:, j]
        clo = lo[:, j] = np.minimum(np.maximum(clo + dj, 0.0), cap)
        chi = hi[:, j] = np.minimum(np.maximum(chi + dj, 0.0), cap)
        if any_reset[j]:
            rj = r[:, j]
            const = np.minimum(np.maximum(dj, 0.0), cap)
            clo = lo[:, j] = np.where(rj, const, clo)
            chi = hi[:, j] = np.where(rj, const, chi)
    entry = np.empty(blocks)
    x = float(start)
    last_a, last_lo, last_hi = a[:, -1].tolist(), lo[:, -1].tolist(), hi[:, -1].tolist()
    for k in range(blocks):
        entry[k] = x
        x = min(max(x + last_a[k], last_lo[k]), last_hi[k])
    level: FloatArray = np.minimum(np.maximum(entry[:, None] + a, lo), hi).reshape(-1)
    return level[:n]


def run_fast(
    import_wh: Sequence[float] | FloatArray,
    export_wh: Sequence[float] | FloatArray,
    capacity_wh: float = 0.0,
    reset: Sequence[bool] | BoolArray | None = None,
    start_level_wh: float = 0.0,
) -> Ledger:
    """``run_plain`` with numpy (see the module's docstring for how)."""
    imp, exp, res = _arrays(import_wh, export_wh, reset)
    cap = _check(capacity_wh, start_level_wh)
    n = len(imp)
    net = exp - imp
    level = np.empty(n, dtype=np.float64)
    if cap == np.inf:
        cuts = [0, *np.flatnonzero(res).tolist(), n]
        start = float(start_level_wh)
        for a, b in itertools.pairwise(cuts):
            if b > a:
                level[a:b] = _floor_clamped(0.0 if res[a] else start, net[a:b])
                start = float(level[b - 1])
    elif n:
        level = _levels_capped(net, cap, start_level_wh, res)
    before = np.empty(n, dtype=np.float64)
    if n:
        before[0] = start_level_wh
        before[1:] = level[:-1]
    forfeited = np.where(res, before, 0.0)
    delta = level - np.where(res, 0.0, before)
    charged = np.maximum(delta, 0.0)
    discharged = np.maximum(-delta, 0.0)
    pos = np.maximum(net, 0.0)
    neg = np.maximum(-net, 0.0)
    return Ledger(
        level_wh=level,
        charged_wh=charged,
        discharged_wh=discharged,
        spilled_wh=np.maximum(pos - charged, 0.0),
        grid_import_wh=np.maximum(neg - discharged, 0.0),
        forfeited_wh=forfeited,
        netted_wh=np.minimum(imp, exp),
    )


def step_many(
    levels_wh: FloatArray,
    capacities_wh: FloatArray,
    import_wh: FloatArray,
    export_wh: FloatArray,
    reset: BoolArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Many batteries forward by the same number of intervals, vectorised over the batteries
    (sequential in time, as the rule is): ``levels_wh`` and ``capacities_wh`` (0: no limit) are
    one value per battery, ``import_wh``/``export_wh``/``reset`` of shape (batteries, intervals).
    Returns the levels at the end of each interval (same shape), and the charged and discharged
    energy per battery and interval (same shape): what a job needs to advance a fleet's ledgers
    after a day of readings. ``run_plain`` per battery gives the same numbers."""
    cap = np.where(capacities_wh == 0, np.inf, capacities_wh)
    net = export_wh - import_wh
    batteries, n = net.shape
    out = np.empty((batteries, n), dtype=np.float64)
    level = levels_wh.astype(np.float64, copy=True)
    for i in range(n):
        if reset is not None:
            level = np.where(reset[:, i], 0.0, level)
        level = np.minimum(np.maximum(level + net[:, i], 0.0), cap)
        out[:, i] = level
    before = np.concatenate([levels_wh[:, None], out[:, :-1]], axis=1)
    if reset is not None:
        before = np.where(reset, 0.0, before)
    delta = out - before
    return out, np.maximum(delta, 0.0), np.maximum(-delta, 0.0)


def binned(n: int, step_s: int, start_s: float, rows: Sequence[tuple[float, float]]) -> FloatArray:
    """Energy rows (instant in epoch seconds, Wh) summed into ``n`` intervals of ``step_s``
    from ``start_s`` (rows outside are left out): a meter's 5-minute roll-ups as quarter hours."""
    out = np.zeros(n, dtype=np.float64)
    for at_s, wh in rows:
        k = int((at_s - start_s) // step_s)
        if 0 <= k < n:
            out[k] += wh
    return out
