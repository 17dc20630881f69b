"""``validate.check_counter_us`` tries a whole counter series on arrays first (``rising_us``): when
the stored and the new readings together never fall, all new ones are accepted at once;
otherwise the loop judges them. Either way the outcome is the loop's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltfleet.domain.telemetry import validate
from voltfleet.domain.telemetry.batch import to_us
from voltfleet.domain.telemetry.validate import check_counter_us

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
P = "grid_import_energy_wh"


def us(minutes: int) -> int:
    return to_us(T0 + timedelta(minutes=minutes))


def _both(
    new: list[tuple[int, int, float]], stored: list[tuple[int, float]]
) -> tuple[object, object]:
    arrays_first = check_counter_us(P, new, stored)
    saved = validate.RISING_MIN
    validate.RISING_MIN = 10**9  # the loop alone
    try:
        return arrays_first, check_counter_us(P, new, stored)
    finally:
        validate.RISING_MIN = saved


# A rising counter (steps of 0-3 Wh per minute), now and then a step down; stored readings are
# some of the same minutes (with the same or another value) and minutes around them.
@settings(max_examples=120, deadline=None)
@given(
    steps=st.lists(st.sampled_from([0, 1, 2, 3]), min_size=64, max_size=160),
    fall=st.one_of(st.none(), st.integers(0, 63)),
    stored_at=st.sets(st.integers(-5, 170), max_size=40),
    shift=st.sampled_from([0, 0, 0, 1, -1]),
    data=st.data(),
)
def test_the_arrays_give_the_loops_outcome(
    steps: list[int],
    fall: int | None,
    stored_at: set[int],
    shift: int,
    data: st.DataObject,
) -> None:
    minutes = sorted(
        data.draw(st.sets(st.integers(0, 170), min_size=len(steps), max_size=len(steps)))
    )
    if fall is not None:
        steps[fall] = -2
    value = 1000.0
    rows: dict[int, float] = {}
    for m, step in zip(minutes, steps, strict=True):
        value += step
        rows[m] = value
    new = [(i, us(m), v) for i, (m, v) in enumerate(rows.items())]
    level = {m: v for m, v in rows.items()}
    stored = []
    for m in sorted(stored_at):
        below = [v for k, v in level.items() if k <= m]
        stored.append((us(m), (below[-1] if below else 999.0) + shift))
    arrays_first, loop_only = _both(new, stored)
    assert arrays_first == loop_only


def test_a_rising_counter_is_accepted_in_one_pass_on_arrays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """500 new readings of a rising counter between stored ones (two of them at the same
    instants): all accepted on arrays; one that falls sends the series back to the loop."""
    new = [(i, us(2 * i), 1000.0 + i) for i in range(500)]
    stored = [(us(-2), 999.0), (us(10), 1005.0), (us(20), 1010.0), (us(1000), 1500.0)]
    passes: list[bool] = []
    rising = validate.rising_us

    def watched(*args: object) -> bool:
        passes.append(rising(*args))  # type: ignore[arg-type]
        return passes[-1]

    monkeypatch.setattr(validate, "rising_us", watched)
    arrays_first, loop_only = _both(new, stored)
    assert passes == [True]
    assert arrays_first == loop_only == (list(range(500)), [])

    new[300] = (300, us(600), 900.0)
    arrays_first, loop_only = _both(new, stored)
    assert passes == [True, False]
    assert arrays_first == loop_only
    assert [r.index for r in arrays_first[1]] == [300]  # type: ignore[index]
