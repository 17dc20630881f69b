"""The platform's device operations as SunSpec control points: which points a ``work_mode``,
``power_switch`` or ``intelligent_load`` command writes, and which mode the points read back
from a device say it runs (the table with its approximations: docs/edge-modes.md).

Pure: no I/O. The executor (edge/mode_commands.py) writes ``OperationPlan.writes`` in order
(the activating point, ``StorCtl_Mod`` or ``Conn``, last, so a refusal part-way leaves the
previous mode running) and reports what ``reported`` reads back.

    power on/off         123 Conn 1/0          (or 703 ES 1/0 on a SunSpec 7xx DER)
    self_consumption     124 ChaGriSet 0 (PV only), StorCtl_Mod 0 (no limit: the inverter's own
                         self-consumption)
    pv                   124 ChaGriSet 0, InWRte 0 %, OutWRte 0 %, StorCtl_Mod 3 (both limits
                         at 0 %: the battery is held)
    full_feed_in         124 ChaGriSet 0, InWRte 0 %, OutWRte 100 %, StorCtl_Mod 3 (the battery
                         never takes PV, so surplus PV is fed in; it may discharge)
    emergency_charging   124 ChaGriSet 1 (grid), InWRte 100 %, StorCtl_Mod 1 (charge at WChaMax)
    feed-in limit        123 WMaxLimPct (% of WMax) + WMaxLim_Ena 1, or 704 WMaxLimPct +
                         WMaxLimPctEna 1; off: the enable 0
    tou                  no SunSpec table: the agent keeps it and writes the points of the slot's
                         base mode as slots begin (grid_charge: ChaGriSet 1, InWRte = power as %
                         of WChaMax, StorCtl_Mod 1); anti-feedback: the feed-in limit above
    forced_off_grid, intelligent_load: SunSpec has no point for them -> ``NotOverSunSpec``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voltfleet.domain.work_modes import (
    BaseMode,
    TouSettings,
    WorkMode,
    check_load,
    check_work_mode,
    tou_mode_at,
)

Value = float | int | str | None

CONTROLS = 123  # immediate inverter controls (Conn, WMaxLimPct ...)
STORAGE = 124  # basic storage controls
ENTER_SERVICE = 703  # SunSpec 7xx DER: enter service (ES)
DER_AC = 704  # SunSpec 7xx DER: AC controls (WMaxLimPct ...)

# StorCtl_Mod bits (SunSpec model 124)
CHARGE_BIT = 1
DISCHARGE_BIT = 2


class NotOverSunSpec(ValueError):
    """The operation has no SunSpec control point on this device (or none at all)."""


@dataclass(frozen=True)
class Write:
    model: int
    point: str
    value: float | int


@dataclass(frozen=True)
class OperationPlan:
    what: str  # what the device is asked to do, in words
    writes: tuple[Write, ...]  # in order; the activating write last
    details: dict[str, Any] = field(default_factory=dict)  # reported with the acknowledgement
    approximation: str = ""  # where SunSpec only comes close to the mode (docs/edge-modes.md)

    @property
    def models(self) -> list[int]:
        return sorted({w.model for w in self.writes})


# The storage-control values of each work mode, in writing order (StorCtl_Mod last).
MODE_POINTS: dict[WorkMode, tuple[tuple[str, int], ...]] = {
    WorkMode.SELF_CONSUMPTION: (("ChaGriSet", 0), ("StorCtl_Mod", 0)),
    WorkMode.PV: (("ChaGriSet", 0), ("InWRte", 0), ("OutWRte", 0), ("StorCtl_Mod", 3)),
    WorkMode.FULL_FEED_IN: (("ChaGriSet", 0), ("InWRte", 0), ("OutWRte", 100), ("StorCtl_Mod", 3)),
    WorkMode.EMERGENCY_CHARGING: (("ChaGriSet", 1), ("InWRte", 100), ("StorCtl_Mod", 1)),
}
APPROXIMATIONS: dict[WorkMode, str] = {
    WorkMode.SELF_CONSUMPTION: "",
    WorkMode.PV: "",
    WorkMode.FULL_FEED_IN: (
        "the battery is kept from charging and may discharge to the house; SunSpec has no "
        "point to discharge it into the grid only when PV is short"
    ),
    WorkMode.EMERGENCY_CHARGING: (
        "charges at WChaMax from PV and grid until the device's own upper limit; the reserve "
        "it then holds is the device's"
    ),
}
NOT_OVER_SUNSPEC: dict[WorkMode, str] = {
    WorkMode.FORCED_OFF_GRID: (
        "forced off-grid is not supported by this device over SunSpec: no SunSpec model has a "
        "point that islands an inverter on purpose"
    ),
}
TOU_APPROXIMATION = (
    "SunSpec has no time-of-use table: the agent keeps the table and writes the points of the "
    "slot's base mode when the slot begins (on the agent's clock, in its configured zone)"
)
TOU_NO_FEED_IN_LIMIT = (
    "TOU with anti-feedback is not supported by this device over SunSpec: the feed-in limit "
    "needs output-limit controls (model 123 or 704) and the rated power (WMax of model 121 or "
    "WMaxRtg of model 702)"
)
LOAD_NOT_OVER_SUNSPEC = (
    "intelligent load is not supported by this device over SunSpec: no SunSpec model has a "
    "point for a load relay"
)


def _require(models: Collection[int], model: int, what: str) -> None:
    if model not in models:
        raise NotOverSunSpec(
            f"{what} is not supported by this device over SunSpec: it has no model {model} "
            f"(it has {sorted(models)})"
        )


def power_switch(on: Any, models: Collection[int]) -> OperationPlan:
    if not isinstance(on, bool):
        raise ValueError("on must be true or false")
    if CONTROLS in models:
        w = Write(CONTROLS, "Conn", int(on))
    elif ENTER_SERVICE in models:
        w = Write(ENTER_SERVICE, "ES", int(on))
    else:
        raise NotOverSunSpec(
            "power on/off is not supported by this device over SunSpec: it has neither immediate "
            f"controls (model {CONTROLS}) nor enter service (model {ENTER_SERVICE}) "
            f"(it has {sorted(models)})"
        )
    return OperationPlan("inverter started" if on else "inverter stopped", (w,), {"on": on})


def work_mode(params: Any, models: Collection[int]) -> OperationPlan:
    """``WorkModeError`` for bad parameters (checked as the platform did: a device never trusts
    its link), ``NotOverSunSpec`` where SunSpec has no point for the mode."""
    mode = WorkMode(check_work_mode(params)["mode"])
    if mode is WorkMode.TOU:
        raise ValueError("TOU mode needs the agent's TOU runner (edge/tou_runner.py)")
    if mode in NOT_OVER_SUNSPEC:
        raise NotOverSunSpec(NOT_OVER_SUNSPEC[mode])
    _require(models, STORAGE, f"work mode {mode.value} (storage control)")
    writes = tuple(Write(STORAGE, p, v) for p, v in MODE_POINTS[mode])
    return OperationPlan(mode.value, writes, {"work_mode": mode.value}, APPROXIMATIONS[mode])


def tou_plan(
    tou: TouSettings,
    local: datetime,
    models: Collection[int],
    *,
    holiday: bool = False,
    wchamax_w: float | None = None,
    wmax_w: float | None = None,
) -> OperationPlan:
    """The points of the TOU table's base mode at ``local`` (the site's wall-clock time), and
    the feed-in limit when anti-feedback is on. ``wchamax_w``: the storage's ``WChaMax`` (for
    the grid-charging power); ``wmax_w``: the inverter's rated power (for the limit)."""
    _require(models, STORAGE, "TOU mode (storage control)")
    base = tou_mode_at(tou, local, holiday=holiday)
    if base is BaseMode.GRID_CHARGE:
        if not wchamax_w or wchamax_w <= 0:
            raise NotOverSunSpec("TOU grid charging needs the storage's WChaMax (model 124)")
        pct = round(min(tou.grid_charge_power_w / wchamax_w * 100, 100.0), 1)
        points: tuple[tuple[str, float | int], ...] = (
            ("ChaGriSet", 1),
            ("InWRte", pct),
            ("StorCtl_Mod", 1),
        )
    else:
        points = MODE_POINTS[WorkMode(base.value)]
    writes = [Write(STORAGE, p, v) for p, v in points]
    if tou.anti_feedback:
        if wmax_w is None or not ({CONTROLS, DER_AC} & set(models)):
            raise NotOverSunSpec(TOU_NO_FEED_IN_LIMIT)
        writes = list(feed_in_limit(tou.feed_in_limit_w, wmax_w, models).writes) + writes
    details = {"work_mode": WorkMode.TOU.value, "active_mode": base.value}
    return OperationPlan(f"TOU ({base.value} now)", tuple(writes), details, TOU_APPROXIMATION)


def intelligent_load(params: Any, models: Collection[int]) -> OperationPlan:
    check_load(params)  # bad parameters say so first
    raise NotOverSunSpec(LOAD_NOT_OVER_SUNSPEC)


def feed_in_limit(limit_w: float | None, wmax_w: float, models: Collection[int]) -> OperationPlan:
    """Cap the inverter's output at ``limit_w`` (None: no cap) as a percentage of its rated
    ``wmax_w``. An approximation of a feed-in limit: SunSpec limits the inverter's AC output,
    not the export at the grid connection (the house's load comes out of it first)."""
    if limit_w is not None and (not math.isfinite(limit_w) or limit_w < 0):
        raise ValueError("the limit must be a power >= 0 W")
    if not math.isfinite(wmax_w) or wmax_w <= 0:
        raise ValueError("the inverter's rated power WMax must be > 0 W")
    if CONTROLS in models:
        model, pct_point, ena_point = CONTROLS, "WMaxLimPct", "WMaxLim_Ena"
    elif DER_AC in models:
        model, pct_point, ena_point = DER_AC, "WMaxLimPct", "WMaxLimPctEna"
    else:
        raise NotOverSunSpec(
            "a feed-in limit is not supported by this device over SunSpec: it has neither model "
            f"{CONTROLS} nor {DER_AC} (it has {sorted(models)})"
        )
    note = "limits the inverter's AC output, not the export at the grid connection"
    if limit_w is None:
        return OperationPlan("no output limit", (Write(model, ena_point, 0),), {}, note)
    pct = round(min(limit_w / wmax_w * 100, 100.0), 1)
    return OperationPlan(
        f"output limited to {pct:g} %",
        (Write(model, pct_point, pct), Write(model, ena_point, 1)),
        {"limit_pct": pct},
        note,
    )


def plan(kind: str, params: Any, models: Collection[int]) -> OperationPlan:
    if not isinstance(params, dict):
        raise ValueError("params must be a JSON object")
    if kind == "power_switch":
        return power_switch(params.get("on"), models)
    if kind == "work_mode":
        return work_mode(params, models)
    if kind == "intelligent_load":
        return intelligent_load(params, models)
    raise ValueError(f"{kind!r} is not a device operation")


# ---- what the device reports -------------------------------------------------------------------


def _near(a: Value, b: float) -> bool:
    return isinstance(a, int | float) and abs(float(a) - b) < 0.05


def reported_mode(storage: Mapping[str, Value]) -> str | None:
    """The work mode the storage-control points read back from a device say it runs; None when
    they match no work mode (a battery setpoint, or values set by hand)."""
    for mode, points in MODE_POINTS.items():
        if all(_near(storage.get(p), v) for p, v in points):
            return mode.value
    if _near(storage.get("StorCtl_Mod"), 0):
        return WorkMode.SELF_CONSUMPTION.value  # grid charging allowed: still self-consumption
    return None


def mismatches(plan: OperationPlan, read: Mapping[tuple[int, str], Value]) -> list[str]:
    """The writes whose point reads back another value (a device that took the write but did
    not apply it)."""
    out = []
    for w in plan.writes:
        got = read.get((w.model, w.point))
        if not _near(got, float(w.value)):
            out.append(f"{w.point} reads {got!r} after {w.value!r} was written")
    return out
