"""The virtual battery's ledger (issue 17): the rules table-driven, the plain loop and the numpy
fast path equal over random meter data, energy conserved every interval."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltfleet.domain.virtual_battery import calendar
from voltfleet.domain.virtual_battery.ledger import Ledger, run_fast, run_plain, step_many

BOTH = pytest.mark.parametrize("run", [run_plain, run_fast], ids=["plain", "fast"])


def _conserved(led: Ledger, imp: np.ndarray, exp: np.ndarray, start: float = 0.0) -> None:
    net = exp - imp
    before = np.concatenate([[start], led.level_wh[:-1]])
    # every interval: level moves by what went in and out, minus a reset
    np.testing.assert_allclose(
        led.level_wh,
        before - led.forfeited_wh + led.charged_wh - led.discharged_wh,
        atol=1e-6,
    )
    # the positive net is charged or spilled, the negative one discharged or bought
    np.testing.assert_allclose(led.charged_wh + led.spilled_wh, np.maximum(net, 0), atol=1e-6)
    np.testing.assert_allclose(
        led.discharged_wh + led.grid_import_wh, np.maximum(-net, 0), atol=1e-6
    )
    # charged = discharged + level + forfeited, from the start
    np.testing.assert_allclose(
        start + np.cumsum(led.charged_wh),
        np.cumsum(led.discharged_wh) + led.level_wh + np.cumsum(led.forfeited_wh),
        atol=1e-6,
    )
    assert (led.level_wh >= -1e-9).all()
    for field in ("charged_wh", "discharged_wh", "spilled_wh", "grid_import_wh", "forfeited_wh"):
        assert (getattr(led, field) >= 0).all(), field


@BOTH
def test_unlimited_capacity_stores_everything(run) -> None:
    led = run([0, 0, 500, 2000], [1000, 3000, 0, 0], capacity_wh=0)
    assert led.level_wh.tolist() == [1000, 4000, 3500, 1500]
    assert led.spilled_wh.tolist() == [0, 0, 0, 0]
    assert led.discharged_wh.tolist() == [0, 0, 500, 2000]


@BOTH
def test_capacity_limits_the_charge_and_spills_the_rest(run) -> None:
    led = run([0, 0, 0, 1500, 1000], [1000, 1500, 800, 0, 0], capacity_wh=2000)
    assert led.level_wh.tolist() == [1000, 2000, 2000, 500, 0]
    assert led.charged_wh.tolist() == [1000, 1000, 0, 0, 0]
    assert led.spilled_wh.tolist() == [0, 500, 800, 0, 0]
    assert led.discharged_wh.tolist() == [0, 0, 0, 1500, 500]
    assert led.grid_import_wh.tolist() == [0, 0, 0, 0, 500]


@BOTH
def test_an_empty_battery_leaves_import_to_the_grid(run) -> None:
    led = run([700, 0, 900], [0, 400, 0])
    assert led.grid_import_wh.tolist() == [700, 0, 500]
    assert led.discharged_wh.tolist() == [0, 0, 400]
    assert led.level_wh.tolist() == [0, 400, 0]


@BOTH
def test_an_interval_with_both_flows_is_netted(run) -> None:
    # 600 exported and 200 imported in one quarter hour: 400 charged, 200 netted
    led = run([200, 900, 300], [600, 100, 300], capacity_wh=1000)
    assert led.netted_wh.tolist() == [200, 100, 300]
    assert led.charged_wh.tolist() == [400, 0, 0]
    assert led.discharged_wh.tolist() == [0, 400, 0]
    assert led.grid_import_wh.tolist() == [0, 400, 0]
    assert led.level_wh.tolist() == [400, 0, 0]
    # at the capacity, netting still charges only the net: 900 - 300 offered, 500 room
    full = run([300], [900], capacity_wh=500)
    assert full.charged_wh.tolist() == [500]
    assert full.spilled_wh.tolist() == [100]


@BOTH
def test_a_reset_returns_the_level_to_zero_before_the_interval(run) -> None:
    led = run([0, 0, 0, 500], [1000, 1000, 300, 0], reset=[False, False, True, False])
    assert led.forfeited_wh.tolist() == [0, 0, 2000, 0]
    assert led.level_wh.tolist() == [1000, 2000, 300, 0]
    assert led.grid_import_wh.tolist() == [0, 0, 0, 200]


@BOTH
def test_a_ledger_continues_from_a_stored_level(run) -> None:
    whole = run([0, 0, 800, 800, 0], [900, 900, 0, 0, 100], capacity_wh=1500)
    head = run([0, 0], [900, 900], capacity_wh=1500)
    tail = run([800, 800, 0], [0, 0, 100], capacity_wh=1500, start_level_wh=head.final_level_wh)
    assert whole.level_wh.tolist() == [*head.level_wh.tolist(), *tail.level_wh.tolist()]


@BOTH
def test_bad_input_is_refused(run) -> None:
    with pytest.raises(ValueError, match="negative"):
        run([-1], [0])
    with pytest.raises(ValueError, match="same length"):
        run([1, 2], [0])
    with pytest.raises(ValueError, match="capacity"):
        run([1], [0], capacity_wh=-5)
    with pytest.raises(ValueError, match="finite"):
        run([float("nan")], [0])


def test_empty_series() -> None:
    assert len(run_fast([], [])) == 0
    assert run_plain([], []).final_level_wh == 0.0


@st.composite
def meters(draw):  # type: ignore[no-untyped-def]
    """Random meter data: mostly one flow per interval, sometimes both, sometimes none, with
    resets now and then, a capacity (0: none) and a start level."""
    n = draw(st.integers(min_value=0, max_value=300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 100.0, 5000.0]))
    which = rng.integers(0, 4, n)  # 0 import, 1 export, 2 both, 3 none
    imp = np.where((which == 0) | (which == 2), rng.uniform(0, scale, n), 0.0)
    exp = np.where((which == 1) | (which == 2), rng.uniform(0, scale, n), 0.0)
    reset = rng.random(n) < draw(st.sampled_from([0.0, 0.01, 0.2]))
    capacity = draw(
        st.sampled_from([0.0, 1.0, 500.0, 3000.0, 20000.0])
        | st.floats(min_value=0, max_value=10000)
    )
    start = draw(st.floats(min_value=0, max_value=capacity if capacity else 10000))
    return imp, exp, reset, capacity, start


@settings(max_examples=200, deadline=None)
@given(meters())
def test_the_fast_path_equals_the_plain_loop_and_energy_is_conserved(data) -> None:
    imp, exp, reset, capacity, start = data
    plain = run_plain(imp, exp, capacity, reset, start)
    fast = run_fast(imp, exp, capacity, reset, start)
    for field in Ledger.__dataclass_fields__:
        np.testing.assert_allclose(
            getattr(fast, field), getattr(plain, field), atol=1e-6, err_msg=field
        )
    _conserved(plain, imp, exp, start)
    _conserved(fast, imp, exp, start)
    if capacity:
        assert (plain.level_wh <= capacity + 1e-9).all()


def test_long_series_with_many_capacity_hits() -> None:
    rng = np.random.default_rng(7)
    n = 35_040
    t = np.arange(n) % 96
    sun = (t >= 36) & (t < 64)
    exp = np.where(sun, rng.uniform(0, 1500, n), 0.0)
    imp = np.where(sun, rng.uniform(0, 200, n), rng.uniform(0, 400, n))
    reset = np.zeros(n, dtype=bool)
    reset[20_000] = True
    for cap in (0.0, 5000.0, 100.0):
        plain = run_plain(imp, exp, cap, reset)
        fast = run_fast(imp, exp, cap, reset)
        np.testing.assert_allclose(fast.level_wh, plain.level_wh, atol=1e-6)
        _conserved(fast, imp, exp)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(0, 50), st.data())
def test_many_batteries_step_like_each_alone(batteries, n, data) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    imp = rng.uniform(0, 1000, (batteries, n)) * (rng.random((batteries, n)) < 0.6)
    exp = rng.uniform(0, 1000, (batteries, n)) * (rng.random((batteries, n)) < 0.6)
    reset = rng.random((batteries, n)) < 0.05
    caps = rng.choice([0.0, 800.0, 5000.0], batteries)
    levels = np.minimum(rng.uniform(0, 3000, batteries), np.where(caps == 0, np.inf, caps))
    out, charged, discharged = step_many(levels, caps, imp, exp, reset)
    for b in range(batteries):
        alone = run_plain(imp[b], exp[b], caps[b], reset[b], levels[b])
        np.testing.assert_allclose(out[b], alone.level_wh, atol=1e-6)
        np.testing.assert_allclose(charged[b], alone.charged_wh, atol=1e-6)
        np.testing.assert_allclose(discharged[b], alone.discharged_wh, atol=1e-6)


BERLIN = ZoneInfo("Europe/Berlin")


def test_reset_once_on_a_date_at_local_midnight() -> None:
    start = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    flags = calendar.reset_flags(start, 24, date(2026, 4, 1), False, BERLIN)
    # 1 April 00:00 in Berlin (CEST) is 31 March 22:00 UTC: the 9th interval from 20:00
    assert [i for i, f in enumerate(flags) if f] == [8]


def test_a_yearly_reset_repeats_and_29_february_falls_on_28() -> None:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    end = datetime(2030, 1, 1, tzinfo=UTC)
    got = calendar.reset_instants(date(2024, 2, 29), True, BERLIN, start, end)
    assert got == [
        datetime(2027, 2, 27, 23, tzinfo=UTC),
        datetime(2028, 2, 28, 23, tzinfo=UTC),
        datetime(2029, 2, 27, 23, tzinfo=UTC),
    ]
    assert calendar.reset_instants(date(2024, 2, 29), False, BERLIN, start, end) == []


def test_a_yearly_reset_empties_the_battery_every_year() -> None:
    start = datetime(2025, 12, 30, 23, tzinfo=UTC)  # local midnight, 31 December
    n = 3 * 35_040 // 365 * 365  # three years of quarter hours (about)
    flags = calendar.reset_flags(start, n, date(2026, 1, 1), True, BERLIN)
    imp = np.zeros(n)
    exp = np.full(n, 10.0)
    led = run_fast(imp, exp, 0.0, flags)
    resets = np.flatnonzero(flags)
    assert len(resets) == 3
    assert (led.forfeited_wh[resets] > 0).all()
    assert led.level_wh[resets[0]] == 10.0
