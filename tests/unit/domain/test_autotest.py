"""The CEI 0-21 AutoTest's verdicts (domain/autotest.py)."""

from __future__ import annotations

import pytest

from voltfleet.domain import autotest
from voltfleet.domain.autotest import BY_CODE, AutoTestError, judge, judge_report


def test_a_trip_within_tolerance_and_in_time_passes() -> None:
    step = BY_CODE["81>.S1"]  # 50.2 Hz, 0.1 s
    assert judge(step, 50.215, 0.08).passed
    assert judge(step, 50.2, 0.1 * 1.03 + 0.02).passed  # the time tolerance's edge


@pytest.mark.parametrize(
    ("code", "value", "time_s", "words"),
    [
        ("81>.S1", 50.23, 0.08, "from 50.2"),  # 30 mHz off
        ("59.S2", 268.0, 0.1, "from 264.5"),  # 3.5 V off (tolerance 2.3 V)
        ("27.S1", 195.5, 1.6, "at most"),  # too slow
        ("27.S2", None, 0.1, "no trip value"),
        ("81<.S2", 47.5, True, "no trip value"),  # a boolean is not a time
    ],
)
def test_a_step_off_threshold_too_slow_or_unreported_fails_with_its_reason(
    code: str, value: object, time_s: object, words: str
) -> None:
    got = judge(BY_CODE[code], value, time_s)
    assert not got.passed and words in got.reason


def test_a_report_judges_every_step_and_a_missing_one_fails() -> None:
    steps = [
        {"code": s.code, "value": s.threshold, "time_s": s.max_time_s / 2} for s in autotest.STEPS
    ]
    assert all(r.passed for r in judge_report({"steps": steps}))
    got = judge_report({"steps": steps[1:]})
    assert [r.step.code for r in got if not r.passed] == [autotest.STEPS[0].code]
    assert not any(r.passed for r in judge_report("garbage"))


def test_starting_needs_every_condition_and_the_agreement() -> None:
    every = set(autotest.CONDITIONS)
    autotest.check_conditions(every, True)
    with pytest.raises(AutoTestError) as err:
        autotest.check_conditions(every - {"loads_safe"}, True)
    assert "Loads on site" in str(err.value)
    with pytest.raises(AutoTestError) as err:
        autotest.check_conditions(every, False)
    assert err.value.field == "agreement"
    assert autotest.available_in("it") and not autotest.available_in("DE")
    with pytest.raises(AutoTestError):
        autotest.check_start({"standard": "VDE 4105"})
