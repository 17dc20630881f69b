"""The allocation builds its connector classes by array operations (``allocate``); the plain
per-connector loop (``allocate_plain``) is the reference: both give the same allocation, to the
bit, on random situations (every mode, duplicate and unknown connectors, cars measured or not,
meters fresh, silent or missing) and on the benchmark's 10,000-connector tree."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.power.test_allocation_properties import trees
from voltfleet.domain.power.allocate import (
    Demand,
    MeterReading,
    Situation,
    allocate,
    allocate_plain,
)
from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.tree import Tree

drawn_values = st.none() | st.sampled_from([0.0, -1.0, 3.5, 6.0, 12.25, math.nan, math.inf])


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    tree: Tree = draw(trees())
    known = [c.id for c in tree.connectors]
    ids = draw(st.lists(st.sampled_from([*known, "unknown"]), max_size=16))  # repeats too
    demands = [
        Demand(
            cid,
            draw(st.sampled_from([1, 2, 3, 4])),
            arrived_s=draw(st.sampled_from([0.0, 5.0, 60.0, 3600.0])),
            drawn_a=draw(drawn_values),
        )
        for cid in ids
    ]
    meters = {
        g.id: MeterReading(
            tuple(draw(st.sampled_from([-5.0, 0.0, 4.0, 9.5, 30.0])) for _ in range(3)),
            draw(st.sampled_from([0.0, 10.0, 100.0])),
        )
        for g in tree.groups
        if draw(st.booleans())
    }
    cfg = PowerSettings(
        mode=draw(st.sampled_from(list(Mode))),
        solar_backup_s=draw(st.sampled_from([0.0, 300.0])),
        min_solar_share=draw(st.sampled_from([0.0, 0.5, 1.0])),
    )
    return Situation(
        tree,
        cfg,
        demands,
        meters,
        minute_of_day=draw(st.integers(0, 1439)),
        now_s=1000.0,
        surplus_seen_s=draw(st.sampled_from([None, 900.0, 0.0])),
    )


@settings(max_examples=400, deadline=None)
@given(situations())
def test_array_classes_allocate_exactly_as_the_plain_loop(s: Situation) -> None:
    fast = allocate(s)
    assert fast == allocate_plain(s)
    assert allocate(s) == fast  # the second call, on what the tree keeps, too


def test_the_benchmark_tree_is_allocated_the_same() -> None:
    sys.path.insert(0, str(Path(__file__).parents[4] / "benchmarks"))
    try:
        import power_allocation  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    for n, seed in ((10_000, 1), (2_000, 7)):
        s = power_allocation.build(n, seed)
        fast = allocate(s)
        assert fast == allocate_plain(s)
        assert fast.paused  # the tree is short somewhere: pausing is compared too
