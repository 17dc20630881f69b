"""The power-flow picture of a site now: PV, home, battery (with its state of charge), grid and
EV around a junction, each line drawn from where the power comes from to where it goes.

Built from the live snapshot (``telemetry.live_service``): the flows of the devices in the site's
statistical range, and the EV as the sum of the chargers' fresh ``ev_power_w``. The home is the
load less the EV: the load an inverter measures is everything behind the house meter, the
wallbox included (the simulated homes report it so), and the load derived from the balance
(pv + grid - battery) holds it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from voltfleet.app.i18n import gettext as _
from voltfleet.app.portal import quantity_filters
from voltfleet.app.telemetry.live_schemas import LiveOut

IDLE_W = 10.0  # below this a line is shown at rest (sensor noise, standby)
JUNCTION = (260.0, 150.0)
# where each node sits in the picture (the SVG's viewBox is 520 x 310)
PLACES = {
    "pv": (260.0, 45.0),
    "grid": (70.0, 150.0),
    "home": (450.0, 150.0),
    "battery": (160.0, 245.0),
    "ev": (360.0, 245.0),
}


@dataclass(frozen=True)
class Node:
    key: str
    label: str  # what the node is, and which way (e.g. "Grid import")
    power_w: float | None  # magnitude, None when nothing fresh is known
    x: float
    y: float
    soc_percent: float | None = None

    @property
    def kw(self) -> str:
        """The power scaled for people in the reader's language ("4,20 kW" in German, "1.25 MW"
        for a large site), as the portal's ``power`` filter writes it."""
        return "\u2013" if self.power_w is None else quantity_filters.power(self.power_w)


@dataclass(frozen=True)
class Line:
    key: str
    x1: float
    y1: float
    x2: float
    y2: float
    active: bool  # power flows (drawn moving from (x1, y1) to (x2, y2))


@dataclass(frozen=True)
class PowerFlow:
    nodes: list[Node]
    lines: list[Line]
    measured_at: datetime | None
    has_battery: bool
    has_ev: bool

    @property
    def empty(self) -> bool:
        return all(n.power_w is None for n in self.nodes)


def _line(key: str, into_junction: bool | None) -> Line:
    """The line between a node and the junction; ``into_junction``: the power goes from the
    node to the junction (False: out to the node, None: none flows)."""
    (nx, ny), (jx, jy) = PLACES[key], JUNCTION
    if into_junction is False:
        return Line(key, jx, jy, nx, ny, True)
    return Line(key, nx, ny, jx, jy, into_junction is True)


def _sign(value: float | None) -> bool | None:
    """True: positive and above noise; False: negative beyond noise; None: at rest or unknown."""
    if value is None or abs(value) < IDLE_W:
        return None
    return value > 0


def power_flow(live: LiveOut, kinds: set[str], fresh_s: float) -> PowerFlow:
    f = live.flows
    oldest = live.at - timedelta(seconds=fresh_s)
    ev_values = [
        v.value for d in live.devices for v in d.values if v.point == "ev_power_w" and v.ts > oldest
    ]
    ev = sum(ev_values) if ev_values else None
    home = f.load_power_w
    if home is not None and ev is not None:
        home = max(0.0, home - ev)
    has_battery = "battery" in kinds or f.battery_power_w is not None or f.soc is not None
    has_ev = "charger" in kinds or ev is not None
    grid_way = _sign(f.grid_power_w)
    battery_way = _sign(f.battery_power_w)
    grid_label = {True: _("Grid import"), False: _("Grid export"), None: _("Grid")}[grid_way]
    battery_label = {True: _("Charging"), False: _("Discharging"), None: _("Battery")}[battery_way]

    def node(key: str, label: str, w: float | None, soc: float | None = None) -> Node:
        x, y = PLACES[key]
        return Node(key, label, None if w is None else abs(w), x, y, soc)

    nodes = [
        node("pv", _("PV"), f.pv_power_w),
        node("grid", grid_label, f.grid_power_w),
        node("home", _("Household"), home),
    ]
    lines = [
        _line("pv", True if _sign(f.pv_power_w) else None),
        _line("grid", grid_way),
        _line("home", False if _sign(home) else None),
    ]
    if has_battery:
        soc = None if f.soc is None else round(f.soc * 100)
        nodes.append(node("battery", battery_label, f.battery_power_w, soc))
        # charging (> 0) takes power out of the junction into the battery
        lines.append(_line("battery", None if battery_way is None else not battery_way))
    if has_ev:
        nodes.append(node("ev", _("EV"), ev))
        lines.append(_line("ev", False if _sign(ev) else None))
    measured = f.ts
    return PowerFlow(nodes, lines, measured, has_battery, has_ev)
