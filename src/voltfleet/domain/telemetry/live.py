"""A site's power flows now, from the latest value of each data point of its devices.

Signs follow the site conventions (DESIGN.md): grid > 0 is import, battery > 0 is charging,
so pv + grid = load + battery. Only fresh values count (a reading older than ``fresh_s`` says
nothing about now); each flow is the sum over the devices given (the caller gives the devices in
the site's statistical range, so a meter and an inverter measuring the same grid connection are
not both counted); the state of charge is the mean over the batteries.

Pure: the caller passes ``now``; instants are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

FLOW_POINTS = ("pv_power_w", "grid_power_w", "battery_power_w", "load_power_w")


@dataclass(frozen=True)
class Latest:
    """The newest stored value of one data point of one device."""

    device_id: str
    point: str
    ts: datetime
    value: float


@dataclass(frozen=True)
class Flows:
    """Power in W (None: no fresh value), state of charge as a fraction 0..1."""

    pv_power_w: float | None = None
    grid_power_w: float | None = None
    battery_power_w: float | None = None
    load_power_w: float | None = None
    load_derived: bool = False  # load computed from the balance, not measured
    soc: float | None = None
    ts: datetime | None = None  # the newest reading used


def flows(latest: Iterable[Latest], now: datetime, fresh_s: float) -> Flows:
    """The site's flows from the devices' latest values (stale ones are left out).

    When no device measures the load but PV and grid are known, the load is the balance
    pv + grid - battery (a battery without a fresh value counts as 0)."""
    oldest = now - timedelta(seconds=fresh_s)
    sums: dict[str, float] = {}
    socs: list[float] = []
    newest: datetime | None = None
    for x in latest:
        if x.ts <= oldest:
            continue
        if x.point in FLOW_POINTS:
            sums[x.point] = sums.get(x.point, 0.0) + x.value
        elif x.point == "soc":
            socs.append(x.value)
        else:
            continue
        newest = x.ts if newest is None or x.ts > newest else newest
    pv = sums.get("pv_power_w")
    grid = sums.get("grid_power_w")
    battery = sums.get("battery_power_w")
    load = sums.get("load_power_w")
    derived = False
    if load is None and pv is not None and grid is not None:
        load = max(0.0, pv + grid - (battery or 0.0))
        derived = True
    return Flows(
        pv_power_w=pv,
        grid_power_w=grid,
        battery_power_w=battery,
        load_power_w=load,
        load_derived=derived,
        soc=sum(socs) / len(socs) if socs else None,
        ts=newest,
    )
