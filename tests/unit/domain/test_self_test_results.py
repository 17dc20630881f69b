"""An inverter's self-test results as a gateway reports them: read, refused when unreadable."""

from __future__ import annotations

from typing import Any

import pytest

from voltfleet.domain.commands import CommandError, DeviceLimits, validate
from voltfleet.domain.firmware.self_test import SelfTestError, read_results, verdict

GOOD = {
    "tests": [
        {
            "name": "59.S1",
            "threshold": "253.0 V",
            "measured": "253.1 V",
            "trip_time_ms": 2950,
            "limit_ms": 3000,
            "passed": True,
        },
        {
            "name": "81>.S1",
            "threshold": "50.2 Hz",
            "measured": "50.21 Hz",
            "trip_time_ms": 120,
            "limit_ms": 100,
            "passed": False,
        },
    ]
}


def test_results_are_read_with_their_units_and_times() -> None:
    items = read_results(GOOD)
    assert [(i.name, i.threshold, i.trip_time_ms, i.passed) for i in items] == [
        ("59.S1", "253.0 V", 2950.0, True),
        ("81>.S1", "50.2 Hz", 120.0, False),
    ]
    assert verdict(items) == "failed: 81>.S1"
    assert verdict(items[:1]) == "passed"


@pytest.mark.parametrize(
    ("details", "why"),
    [
        (None, "no results"),
        ({}, "no results"),
        ({"tests": []}, "no results"),
        ({"tests": ["x"]}, "not an object"),
        ({"tests": [{"passed": True}]}, "no name"),
        ({"tests": [{"name": "27.S1"}]}, "passed must be"),
        ({"tests": [{"name": "27.S1", "passed": True, "trip_time_ms": "fast"}]}, "milliseconds"),
        ({"tests": [{"name": "27.S1", "passed": True, "trip_time_ms": -1}]}, "negative"),
        ({"tests": [{"name": "27.S1", "passed": True, "threshold": {"v": 1}}]}, "text"),
    ],
)
def test_unreadable_results_are_refused_with_the_reason(details: Any, why: str) -> None:
    with pytest.raises(SelfTestError, match=why):
        read_results(details)


def test_a_self_test_goes_to_inverters_and_takes_no_parameters() -> None:
    assert validate("self_test", {}, DeviceLimits("inverter")).params == {}
    with pytest.raises(CommandError, match="send them to a inverter"):
        validate("self_test", {}, DeviceLimits("battery"))
    with pytest.raises(CommandError, match="unknown parameter"):
        validate("self_test", {"standard": "CEI 0-21"}, DeviceLimits("inverter"))
