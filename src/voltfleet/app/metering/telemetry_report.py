"""The savings report from a site's own telemetry (``source=telemetry`` of
``GET /api/v1/sites/{id}/savings``), the figures the portal's Savings tab shows
(``app.siteview.savings``, ``domain.accounting.battery_days``), with their provenance per day:
which power was measured, how many quarter hours of the day, and where the energy the battery
gave came from (the stored-energy ledger, ``domain.optimisation.ledger``, FIFO over the window).

The bucket lines carry the same fields as the meter-record method, read for a whole home: the
grid import and its cost, the export and its earnings with the battery as metered;
``supplied_value`` is what the same home would have paid without the battery (its grid flow
less the battery's, priced the same), so ``savings = supplied_value + export_earnings -
import_cost`` holds as for the meter records. Limit (docs/optimisation.md): the energy stored at
the window's start and end is not valued, and import and export within a quarter hour net.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from voltfleet.app.siteview.savings import STEP, telemetry_between
from voltfleet.domain.accounting import SavingsLine
from voltfleet.domain.accounting.battery_days import Step
from voltfleet.domain.accounting.buckets import Aggregation, local_buckets
from voltfleet.domain.optimisation.ledger import Ledger, ledger
from voltfleet.store.models import Site

METHOD = "telemetry"
DATA = (
    "the site's own 5-minute telemetry as quarter-hour means: battery_power_w of its batteries "
    "and the grid power ({grid}), priced by its IMPORT and EXPORT tariffs"
)
LIMIT = (
    "the energy stored at the start and end of each day is not valued (a battery that ends a "
    "day fuller paid for energy the next day uses: read the sum over many days); import and "
    "export within one quarter hour are netted; quarter hours without measured grid power count "
    "as zero (see steps against steps_in_day)"
)


@dataclass
class DayProvenance:
    day: date
    steps: int  # quarter hours measured
    steps_in_day: int  # quarter hours in the local day within the window (92, 96 or 100)
    imported_kwh: float
    exported_kwh: float
    charged_kwh: float
    discharged_kwh: float
    import_cost: float
    export_earnings: float
    cost_with_battery: float
    cost_without_battery: float
    # the ledger: what the battery delivered that day, by where it had come from and where it
    # went (kWh), and what the round trip lost
    delivered_kwh: dict[str, float] = field(default_factory=dict)
    losses_kwh: float = 0.0

    @property
    def savings(self) -> float:
        return self.cost_without_battery - self.cost_with_battery


@dataclass(frozen=True)
class TelemetryBucket:
    start: datetime
    end: datetime
    label: str
    line: SavingsLine


@dataclass(frozen=True)
class TelemetryReport:
    currency: str
    start: datetime
    end: datetime
    grid_from: str
    total: SavingsLine
    buckets: list[TelemetryBucket]
    days: list[DayProvenance]
    reason: str | None = None  # why there are no figures


def _line(days: Sequence[DayProvenance]) -> SavingsLine:
    imported = sum(d.imported_kwh for d in days)
    import_cost = sum(d.import_cost for d in days)
    without = sum(d.cost_without_battery for d in days)
    earnings = sum(d.export_earnings for d in days)
    savings = without + earnings - import_cost
    return SavingsLine(
        imported_kwh=imported,
        import_cost=import_cost,
        supplied_kwh=sum(d.discharged_kwh for d in days),
        supplied_value=without,
        exported_kwh=sum(d.exported_kwh for d in days),
        export_earnings=earnings,
        savings=savings,
        savings_fraction=savings / without if without > 0 else None,
    )


def _ledger_of(steps: Sequence[Step]) -> Ledger:
    # the ledger reads PV less load; from the grid and battery it is battery - grid
    return ledger(
        STEP.total_seconds() / 3600,
        [s.battery_w for s in steps],
        [s.battery_w - s.grid_w for s in steps],
        [0.0] * len(steps),
        [s.import_price_per_kwh for s in steps],
        [s.export_price_per_kwh for s in steps],
    )


def _quarter_up(t: datetime) -> datetime:
    return datetime.fromtimestamp(-(-t.timestamp() // 900) * 900, t.tzinfo)


def _quarter_down(t: datetime) -> datetime:
    return datetime.fromtimestamp(t.timestamp() // 900 * 900, t.tzinfo)


def telemetry_report(
    session: Session, site: Site, start: datetime, end: datetime, aggregation: str
) -> TelemetryReport | None:
    """The report over the whole quarter hours in [start, end); None when the site has no
    battery."""
    got = telemetry_between(session, site, _quarter_up(start), _quarter_down(end))
    if got is None:
        return None
    tz = ZoneInfo(site.timezone or "UTC")
    step_h = STEP.total_seconds() / 3600
    by_day: dict[date, DayProvenance] = {}
    for line in got.days:
        by_day[line.day] = DayProvenance(
            day=line.day,
            steps=line.steps,
            steps_in_day=0,
            imported_kwh=line.imported_kwh,
            exported_kwh=line.exported_kwh,
            charged_kwh=line.charged_kwh,
            discharged_kwh=line.discharged_kwh,
            import_cost=0.0,
            export_earnings=0.0,
            cost_with_battery=line.cost_with,
            cost_without_battery=line.cost_without,
        )
    day_steps: dict[date, list[Step]] = {}
    for s in got.steps:
        d = by_day[s.start.astimezone(tz).date()]
        kwh = s.grid_w * step_h / 1000
        if kwh > 0:
            d.import_cost += kwh * s.import_price_per_kwh
        else:
            d.export_earnings += -kwh * s.export_price_per_kwh
        day_steps.setdefault(d.day, []).append(s)
    # the ledger, FIFO over the whole window, read per day as the change of its running totals
    before = Ledger()
    so_far: list[Step] = []
    for day in sorted(day_steps):
        so_far.extend(day_steps[day])
        after = _ledger_of(so_far)
        d = by_day[day]
        d.delivered_kwh = {
            f"{source}_to_{sink}": after.delivered_kwh[(source, sink)]
            - before.delivered_kwh[(source, sink)]
            for source, sink in after.delivered_kwh
        }
        d.losses_kwh = after.losses_kwh - before.losses_kwh
        before = after
    t = _quarter_up(start)
    while t < end:
        day = t.astimezone(tz).date()
        if day in by_day:
            by_day[day].steps_in_day += 1
        t += timedelta(minutes=15)
    days = [by_day[d] for d in sorted(by_day)]
    buckets = []
    edges = local_buckets(tz, start, end, Aggregation(aggregation))
    for i, b in enumerate(edges):
        upto = edges[i + 1].first_day if i + 1 < len(edges) else date.max
        inside = [d for d in days if b.first_day <= d.day < upto]
        buckets.append(TelemetryBucket(b.start, b.end, b.label, _line(inside)))
    return TelemetryReport(
        currency=got.currency,
        start=start,
        end=end,
        grid_from=got.grid_from,
        total=_line(days),
        buckets=buckets,
        days=days,
        reason=got.reason,
    )
