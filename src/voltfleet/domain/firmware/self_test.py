"""An inverter's self-test results (the grid-protection AutoTest Italian inverters run under
CEI 0-21: each protection function tripped against its threshold), as the gateway reports them
in its reply to a ``self_test`` command. Pure: the reply's ``details`` in, rows out.

The reply's details: ``{"tests": [{"name": "59.S1", "threshold": "253.0 V", "measured":
"252.8 V", "trip_time_ms": 2980, "limit_ms": 3000, "passed": true}, ...]}``; texts as the device
words them (units included), times in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_TESTS = 50
MAX_TEXT = 40


@dataclass(frozen=True)
class SelfTestItem:
    name: str
    threshold: str
    measured: str
    trip_time_ms: float | None
    limit_ms: float | None
    passed: bool


class SelfTestError(ValueError):
    """A reply whose results cannot be read (said in words a person can act on)."""


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SelfTestError(f"{key} must be text")
    return str(value).strip()[:MAX_TEXT]


def _ms(item: Mapping[str, Any], key: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SelfTestError(f"{key} must be a number of milliseconds")
    if value < 0:
        raise SelfTestError(f"{key} cannot be negative")
    return float(value)


def read_results(details: Any) -> list[SelfTestItem]:
    """The results in a self-test reply; ``SelfTestError`` when they cannot be read."""
    if not isinstance(details, Mapping):
        raise SelfTestError("the reply has no results")
    tests = details.get("tests")
    if not isinstance(tests, list) or not tests:
        raise SelfTestError('the reply has no results ("tests": a list)')
    if len(tests) > MAX_TESTS:
        raise SelfTestError(f"at most {MAX_TESTS} results in one reply")
    out = []
    for n, item in enumerate(tests, 1):
        if not isinstance(item, Mapping):
            raise SelfTestError(f"result {n} is not an object")
        name = _text(item, "name")
        if not name:
            raise SelfTestError(f"result {n} has no name")
        passed = item.get("passed")
        if not isinstance(passed, bool):
            raise SelfTestError(f"result {n} ({name}): passed must be true or false")
        out.append(
            SelfTestItem(
                name=name,
                threshold=_text(item, "threshold"),
                measured=_text(item, "measured"),
                trip_time_ms=_ms(item, "trip_time_ms"),
                limit_ms=_ms(item, "limit_ms"),
                passed=passed,
            )
        )
    return out


def verdict(items: list[SelfTestItem]) -> str:
    """``passed`` when every function tripped in time, else which did not."""
    failed = [i.name for i in items if not i.passed]
    return "passed" if not failed else "failed: " + ", ".join(failed)
