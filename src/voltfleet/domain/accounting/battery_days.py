"""What a site paid per day with its battery against what it would have paid without it, from
its own metered quarter hours (the method is in docs/siteview.md).

Per step (W means over ``step_h``; signs as everywhere: grid > 0 import, battery > 0 charging):

- with the battery: the grid flow as metered; an import step costs its import price, an export
  step earns its export price;
- without it: the same home and PV, so the grid would have carried ``grid - battery`` (what the
  battery charged came from the grid or from PV that would have been exported; what it
  discharged would have been imported or not exported), priced the same way;
- savings = cost without - cost with.

Netting is per step: within a quarter hour import and export are not told apart (the finer the
steps, the closer to a meter's own registers). The energy stored at the day's start and end is
not valued: a battery that ends a day fuller than it began has paid for energy the next day
uses, so single days move around and the sum over many days is the figure to read. Steps with
no measured grid or battery power count as zero (``steps`` says how many were measured).
Pure: numbers in, numbers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Step:
    start: datetime  # aware
    grid_w: float
    battery_w: float
    import_price_per_kwh: float
    export_price_per_kwh: float


@dataclass
class DaySavings:
    day: date  # the site's local date
    steps: int = 0
    imported_kwh: float = 0.0
    exported_kwh: float = 0.0
    charged_kwh: float = 0.0
    discharged_kwh: float = 0.0
    cost_with: float = 0.0  # money paid with the battery (negative: earned)
    cost_without: float = 0.0  # what the same home would have paid without it

    @property
    def savings(self) -> float:
        return self.cost_without - self.cost_with


def _cost(grid_kwh: float, import_price: float, export_price: float) -> float:
    return grid_kwh * import_price if grid_kwh > 0 else grid_kwh * export_price


def daily_savings(steps: Sequence[Step], step_h: float, timezone: str) -> list[DaySavings]:
    """One line per local day that has steps, in date order."""
    tz = ZoneInfo(timezone)
    days: dict[date, DaySavings] = {}
    for s in steps:
        day = s.start.astimezone(tz).date()
        line = days.get(day)
        if line is None:
            line = days[day] = DaySavings(day)
        grid_kwh = s.grid_w * step_h / 1000
        battery_kwh = s.battery_w * step_h / 1000
        line.steps += 1
        line.imported_kwh += max(grid_kwh, 0.0)
        line.exported_kwh += max(-grid_kwh, 0.0)
        line.charged_kwh += max(battery_kwh, 0.0)
        line.discharged_kwh += max(-battery_kwh, 0.0)
        imp, exp = s.import_price_per_kwh, s.export_price_per_kwh
        line.cost_with += _cost(grid_kwh, imp, exp)
        line.cost_without += _cost(grid_kwh - battery_kwh, imp, exp)
    return [days[d] for d in sorted(days)]
