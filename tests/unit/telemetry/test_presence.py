"""Offline after silence (domain.telemetry.presence) and a site's live flows
(domain.telemetry.live), table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.fleet import DeviceStatus
from voltfleet.domain.telemetry.live import Latest, flows
from voltfleet.domain.telemetry.presence import (
    Presence,
    gone_offline,
    is_silent,
    sweep_interval_s,
)

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
S = DeviceStatus


@pytest.mark.parametrize(
    ("status", "silent_s", "offline"),
    [
        (S.ONLINE, 299, False),  # just inside the threshold
        (S.ONLINE, 300, True),  # exactly the threshold: silent
        (S.ONLINE, 3600, True),
        (S.RUNNING, 301, True),  # every "up" status goes offline
        (S.STANDBY, 301, True),
        (S.FAULT, 3600, False),  # a fault says more than offline: kept
        (S.OFFLINE, 3600, False),  # already offline: nothing to do
        (S.UNKNOWN, 3600, False),
        (S.ONLINE, None, False),  # never seen: stays as it is
        (S.ONLINE, -60, False),  # seen "in the future" (clock skew): not silent
    ],
)
def test_is_silent(status: DeviceStatus, silent_s: int | None, offline: bool) -> None:
    seen = None if silent_s is None else NOW - timedelta(seconds=silent_s)
    assert is_silent(Presence("d", status, seen), NOW, 300) is offline


def test_gone_offline_keeps_order_and_picks_only_silent_up_devices() -> None:
    devices = [
        Presence("a", S.ONLINE, NOW - timedelta(minutes=10)),
        Presence("b", S.ONLINE, NOW - timedelta(seconds=10)),
        Presence("c", S.UNKNOWN, None),
        Presence("d", S.RUNNING, NOW - timedelta(hours=2)),
    ]
    assert gone_offline(devices, NOW, 300) == ["a", "d"]
    assert gone_offline(devices, NOW, 3 * 3600) == []


def test_bad_threshold_and_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 30"):
        is_silent(Presence("a", S.ONLINE, NOW), NOW, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_silent(Presence("a", S.ONLINE, NOW), NOW.replace(tzinfo=None), 300)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_silent(Presence("a", S.ONLINE, NOW.replace(tzinfo=None)), NOW, 300)


@pytest.mark.parametrize(("threshold", "interval"), [(30, 6), (300, 60), (3600, 60), (200, 40)])
def test_sweep_interval(threshold: float, interval: float) -> None:
    assert sweep_interval_s(threshold) == interval


def _at(seconds_ago: int, device: str, point: str, value: float) -> Latest:
    return Latest(device, point, NOW - timedelta(seconds=seconds_ago), value)


def test_flows_sum_devices_and_derive_the_load_from_the_balance() -> None:
    f = flows(
        [
            _at(5, "inv1", "pv_power_w", 2000),
            _at(8, "inv2", "pv_power_w", 1000),
            _at(5, "mtr", "grid_power_w", -500),  # exporting
            _at(5, "bat", "battery_power_w", 700),  # charging
            _at(5, "bat", "soc", 0.4),
            _at(5, "bat2", "soc", 0.6),
            _at(3, "inv1", "grid_frequency_hz", 50.0),  # not a flow
        ],
        NOW,
        300,
    )
    assert (f.pv_power_w, f.grid_power_w, f.battery_power_w) == (3000, -500, 700)
    assert f.load_power_w == pytest.approx(3000 - 500 - 700) and f.load_derived
    assert f.soc == pytest.approx(0.5)
    assert f.ts == NOW - timedelta(seconds=5)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # measured load wins over the balance
        (
            [_at(5, "i", "pv_power_w", 1000), _at(5, "m", "grid_power_w", 200),
             _at(5, "m", "load_power_w", 1100)],
            (1000, 200, None, 1100, False),
        ),
        # a stale value is left out, so the load cannot be derived
        (
            [_at(5, "i", "pv_power_w", 1000), _at(900, "m", "grid_power_w", 200)],
            (1000, None, None, None, False),
        ),
        # the balance never goes below zero
        (
            [_at(5, "i", "pv_power_w", 0), _at(5, "m", "grid_power_w", -100)],
            (0, -100, None, 0, True),
        ),
        ([], (None, None, None, None, False)),
    ],
)  # fmt: skip
def test_flows_cases(
    values: list[Latest],
    expected: tuple[float | None, float | None, float | None, float | None, bool],
) -> None:
    f = flows(values, NOW, 300)
    assert (
        f.pv_power_w,
        f.grid_power_w,
        f.battery_power_w,
        f.load_power_w,
        f.load_derived,
    ) == expected
