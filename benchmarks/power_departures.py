"""Allocation with departure times: the 10,000-connector tree of ``power_allocation.py``, with
a departure and an energy need on a share of the cars (``--urgent``, default 10 %), against the
same situation without any (the baseline, in the same run).

    .venv/bin/python benchmarks/power_departures.py [--connectors 10000] [--urgent 0.1]

Each urgent car is a class of its own (its floor is its own), so the cost grows with the number
of urgent cars; the figure says by how much.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from power_allocation import build, timed

from voltfleet.domain.power.allocate import allocate
from voltfleet.domain.power.departure import Need


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--connectors", type=int, default=10_000)
    p.add_argument("--urgent", type=float, default=0.1)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    s = build(args.connectors)
    rng = random.Random(7)
    ids = [d.connector_id for d in s.demands]
    chosen = rng.sample(ids, int(len(ids) * args.urgent))
    needs = {
        cid: Need(rng.choice([5e3, 2e4, 4e4]), rng.choice([1800.0, 7200.0, 28800.0]))
        for cid in chosen
    }
    urgent = replace(s, needs=needs)
    allocate(s)
    plain_ms = timed(allocate, s, args.repeat)
    a = allocate(urgent)
    urgent_ms = timed(allocate, urgent, args.repeat)
    raised = sum(1 for cid in chosen if a.limits_a.get(cid, 0) > 6.0)
    print(
        f"allocate, {len(ids)} cars, {len(needs)} with a departure ({raised} above 6 A): "
        f"{urgent_ms:.1f} ms CPU (median of {args.repeat})"
    )
    print(f"the same situation without departures (baseline): {plain_ms:.1f} ms CPU")


if __name__ == "__main__":
    main()
