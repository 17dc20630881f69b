"""Allocation of charging current for 10,000 connectors in a three-level fuse tree.

    .venv/bin/python benchmarks/power_allocation.py [--connectors 10000] [--repeat 20]

Prints the median CPU time of ``domain.power.allocate.allocate`` (all cars charging, fair sharing,
meters on the middle groups, mixed rotations, one- and three-phase cars, some groups short of the
6 A minimum so cars are paused) and, in the same run, a baseline: the same max-min fair shares by
a straightforward per-connector loop (raise every unfrozen car by the common level until a
constraint fills, rescanning all cars and constraints at each step), on a twentieth of the
tree (the loop is quadratic: the full size would take hours). Also in the same run: the first
allocation on a tree just built (the per-tree arrays made then, kept with the tree for the next
cycles), ``allocate_plain``, the same allocation with its classes built connector by connector
(the reference the tests compare with), and the first version itself (``--before``, a git
revision: its allocate.py is read with ``git show`` and run on the same situation).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

from voltfleet.domain.power.allocate import (
    Demand,
    MeterReading,
    Situation,
    allocate,
    allocate_plain,
)
from voltfleet.domain.power.modes import PowerSettings
from voltfleet.domain.power.tree import ROTATIONS, Connector, GridType, Group, Tree, footprint


def build(n: int, seed: int = 1) -> Situation:
    rng = random.Random(seed)
    mids, leaves = 10, 10
    per_leaf = max(1, n // (mids * leaves))
    groups = [Group("root", None, fuse_a=per_leaf * mids * leaves * 12.0)]
    conns: list[Connector] = []
    meters: dict[str, MeterReading] = {}
    demands: list[Demand] = []
    for m in range(mids):
        mid = f"m{m}"
        groups.append(Group(mid, "root", fuse_a=per_leaf * leaves * 14.0, has_meter=True))
        meters[mid] = MeterReading((rng.uniform(0, 200),) * 3, age_s=2.0)
        for lf in range(leaves):
            leaf = f"{mid}l{lf}"
            groups.append(Group(leaf, mid, fuse_a=per_leaf * rng.choice([5.0, 8.0, 12.0, 20.0])))
            for i in range(per_leaf):
                cid = f"{leaf}c{i}"
                conns.append(Connector(cid, leaf, rng.choice([16.0, 32.0]), rng.choice(ROTATIONS)))
                demands.append(Demand(cid, rng.choice([1, 3, 3]), arrived_s=rng.uniform(0, 3600)))
    tree = Tree(GridType.THREE_400, tuple(groups), tuple(conns))
    return Situation(tree, PowerSettings(), demands, meters)


def baseline(s: Situation) -> dict[str, float]:
    """Max-min fair shares (no pausing: the tree is sized so the minimum fits), the obvious way:
    one level for every car, raised to the next constraint or maximum, rescanning everything."""
    tree = s.tree
    lines = {
        d.connector_id: footprint(tree.grid, c.rotation, d.car_phases)
        for d in s.demands
        for c in [next(x for x in tree.connectors if x.id == d.connector_id)]
    }
    conn = {c.id: c for c in tree.connectors}
    caps = {(g.id, p): g.fuse_a for g in tree.groups for p in range(3)}
    value = dict.fromkeys(lines, 6.0)
    frozen: set[str] = set()
    while len(frozen) < len(value):
        best = min(conn[c].max_a for c in value if c not in frozen)
        for key, cap in caps.items():
            used, n = 0.0, 0
            for c, ls in lines.items():
                if key[0] in tree.ancestors(conn[c].group_id) and key[1] in ls:
                    if c in frozen:
                        used += value[c]
                    else:
                        n += 1
            if n:
                best = min(best, (cap - used) / n)
        for c in value:
            if c not in frozen:
                value[c] = best
        for c in value:
            if c in frozen:
                continue
            if conn[c].max_a <= best + 1e-9:
                frozen.add(c)
                continue
            for key, cap in caps.items():
                if key[0] in tree.ancestors(conn[c].group_id) and key[1] in lines[c]:
                    used = sum(
                        value[o]
                        for o, ls in lines.items()
                        if key[0] in tree.ancestors(conn[o].group_id) and key[1] in ls
                    )
                    if used >= cap - 1e-6:
                        frozen.add(c)
                        break
    return value


def timed(fn: object, arg: Situation, repeat: int) -> float:
    """Median CPU time of the process per call, in ms (on a shared, busy machine the wall clock
    mostly measures the other processes)."""
    assert callable(fn)
    runs = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn(arg)
        runs.append(time.process_time() - t0)
    return statistics.median(runs) * 1000


def before(rev: str) -> Any:
    """``allocate`` of the revision ``rev`` (None when git cannot show it)."""
    root = Path(__file__).resolve().parents[1]
    try:
        source = subprocess.run(
            ["git", "show", f"{rev}:src/voltfleet/domain/power/allocate.py"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("allocate_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:allocate.py", "exec"), module.__dict__)
    return module.allocate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connectors", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--before", default="2adf01c", help="git revision of the first version")
    args = ap.parse_args()
    s = build(args.connectors)
    a = allocate(s)
    charging = sum(1 for v in a.limits_a.values() if v > 0)
    ms = timed(allocate, s, args.repeat)
    ms_plain = timed(allocate_plain, s, args.repeat)
    colds = []
    for _ in range(5):
        fresh = build(args.connectors)  # the same situation, a new tree: nothing kept yet
        t0 = time.process_time()
        allocate(fresh)
        colds.append((time.process_time() - t0) * 1000)
    assert allocate_plain(s) == a
    print(
        f"allocate: {len(s.tree.connectors)} connectors, {len(s.tree.groups)} groups, "
        f"{charging} charging, {len(a.paused)} paused: {ms:.1f} ms CPU (median of {args.repeat}); "
        f"first call on a new tree {statistics.median(colds):.1f} ms"
    )
    print(f"the same, classes built connector by connector (allocate_plain): {ms_plain:.1f} ms")
    old = before(args.before)
    if old is not None:
        got = old(s)
        assert (got.limits_a, got.paused) == (a.limits_a, a.paused)
        ms_old = timed(old, s, args.repeat)
        print(f"the first version ({args.before}), same situation, same limits: {ms_old:.1f} ms")
    small = build(args.connectors // 20, seed=2)
    # the baseline has no pausing: give every group room for the minimum
    small = Situation(
        Tree(
            small.tree.grid,
            tuple(Group(g.id, g.parent_id, g.fuse_a * 3) for g in small.tree.groups),
            small.tree.connectors,
        ),
        small.settings,
        small.demands,
        {},
    )
    ms_new = timed(allocate, small, 5)
    ms_base = timed(baseline, small, 1)
    print(
        f"same max-min shares, {len(small.tree.connectors)} connectors: allocate {ms_new:.1f} ms, "
        f"per-connector loop (baseline) {ms_base:.0f} ms"
    )


if __name__ == "__main__":
    main()
