"""The stored-energy ledger: where each kWh in a battery came from and where it went, first in,
first out, from a site's metered steps.

Per step (W means over ``step_h``; signs as everywhere: battery > 0 charging, grid > 0 import):
charging takes PV surplus first (what PV gives beyond the load), the grid for the rest, at the
step's import price (solar at the export price it would have earned: what storing it cost);
the stored energy is the charge times the charge efficiency, the rest a loss. Discharging serves
the home first (the load PV does not cover), the grid for the rest (at the export price); what
leaves the store is the discharge over the discharge efficiency, the difference a loss. Stored
energy leaves in the order it came (FIFO lots), so each kWh delivered carries the source and the
price it was bought at. Energy in the battery before the first step is a lot of ``initial``
origin, at no price; so is what leaves the battery beyond what the ledger saw go in (it was
stored before the ledger's first step).

Savings: each kWh delivered to the home saved the import price of its step and cost what its
lot cost per kWh delivered (the lot's price over the round trip: the losses are paid for); one
delivered to the grid earned the export price less the same. Pure; no solver, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

SOURCES = ("solar", "grid", "initial")
SINKS = ("home", "grid")


@dataclass
class _Lot:
    source: str
    stored_kwh: float  # what is left of it in the store
    cost_per_stored_kwh: float


@dataclass
class Ledger:
    """kWh by (source, sink) delivered, charged by source, losses, what is still stored by
    source, and the money: ``savings`` = value delivered - what the delivered energy cost."""

    charged_kwh: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0.0))
    delivered_kwh: dict[tuple[str, str], float] = field(
        default_factory=lambda: {(s, k): 0.0 for s in SOURCES for k in SINKS}
    )
    losses_kwh: float = 0.0
    stored_kwh: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0.0))
    value: float = 0.0  # import avoided (home) + export earned (grid) by delivered energy
    cost: float = 0.0  # what the delivered energy cost to store, losses included

    @property
    def savings(self) -> float:
        return self.value - self.cost


def ledger(
    step_h: float,
    battery_w: Sequence[float],
    pv_w: Sequence[float],
    load_w: Sequence[float],
    import_price_per_kwh: Sequence[float],
    export_price_per_kwh: Sequence[float],
    *,
    charge_efficiency: float = 0.95,
    discharge_efficiency: float = 0.95,
    initial_kwh: float = 0.0,
) -> Ledger:
    out = Ledger()
    lots: deque[_Lot] = deque()
    if initial_kwh > 0:
        lots.append(_Lot("initial", initial_kwh, 0.0))
    for p, pv, load, pi, pe in zip(
        battery_w, pv_w, load_w, import_price_per_kwh, export_price_per_kwh, strict=True
    ):
        if p > 0:  # charging: solar surplus first, then the grid
            kwh = p * step_h / 1000
            solar = min(kwh, max(pv - load, 0.0) * step_h / 1000)
            for source, part, price in (("solar", solar, pe), ("grid", kwh - solar, pi)):
                if part <= 0:
                    continue
                out.charged_kwh[source] += part
                stored = part * charge_efficiency
                out.losses_kwh += part - stored
                lots.append(_Lot(source, stored, price / charge_efficiency))
        elif p < 0:  # discharging: the home first, then the grid
            kwh = -p * step_h / 1000
            home = min(kwh, max(load - pv, 0.0) * step_h / 1000)
            for sink, part, price in (("home", home, pi), ("grid", kwh - home, pe)):
                need = part / discharge_efficiency  # out of the store
                out.losses_kwh += need - part
                while need > 1e-12 and lots:
                    lot = lots[0]
                    take = min(need, lot.stored_kwh)
                    delivered = take * discharge_efficiency
                    out.delivered_kwh[(lot.source, sink)] += delivered
                    out.value += delivered * price
                    out.cost += take * lot.cost_per_stored_kwh
                    lot.stored_kwh -= take
                    need -= take
                    if lot.stored_kwh <= 1e-12:
                        lots.popleft()
                if need > 1e-12:  # more than the ledger saw go in: stored before its start
                    delivered = need * discharge_efficiency
                    out.delivered_kwh[("initial", sink)] += delivered
                    out.value += delivered * price
    for lot in lots:
        out.stored_kwh[lot.source] += lot.stored_kwh
    return out
