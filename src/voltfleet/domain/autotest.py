"""AutoTest: the self-test of an inverter's interface protection that Italy's grid code (CEI 0-21)
asks for at commissioning. The inverter moves each protection's threshold towards the measured
grid value until it trips and reports the value and time at which it tripped; the platform judges
each step against the standard's limits.

Pure: data in, data out.

The steps and limits are those of the CEI 0-21 interface protection (SPI) for low-voltage
generators as inverter AutoTest functions run them (nominal 230 V, 50 Hz): overvoltage 59.S1
(the 10-minute mean above 1.10 Vn, tripping within 603 s) and 59.S2 (1.15 Vn, 0.2 s),
undervoltage 27.S1 (0.85 Vn, 1.5 s) and 27.S2 (0.15 Vn, 0.2 s), frequency 81>.S1 (50.2 Hz) and
81<.S1 (49.8 Hz), 81>.S2 (51.5 Hz) and 81<.S2 (47.5 Hz), each 0.1 s. A step passes when the
trip value is within the tolerance of its threshold (±1 % of Vn for voltage, ±20 mHz for
frequency) and the trip time is at most the limit plus 3 % and 20 ms. Check the edition your
distribution operator applies: the limits are data (``STEPS``), not code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STANDARD = "CEI 0-21"
COUNTRIES = frozenset({"IT"})  # AutoTest is only available in Italy (the manual)
NOMINAL_V = 230.0
VOLT_TOLERANCE = 0.01 * NOMINAL_V
FREQ_TOLERANCE_HZ = 0.02
TIME_TOLERANCE = 0.03  # of the limit
TIME_TOLERANCE_S = 0.02
CONDITIONS = {
    "grid_connected": "The inverter is connected to the grid and running",
    "loads_safe": "Loads on site may see the inverter disconnect during the test",
    "installer_present": "A qualified installer is on site or has agreed to the test",
}


class AutoTestError(ValueError):
    def __init__(self, message: str, field: str = "params") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Step:
    code: str
    name: str
    unit: str  # V or Hz
    threshold: float
    max_time_s: float

    @property
    def tolerance(self) -> float:
        return VOLT_TOLERANCE if self.unit == "V" else FREQ_TOLERANCE_HZ


STEPS = (
    Step("59.S1", "Overvoltage, 10-minute mean", "V", 1.10 * NOMINAL_V, 603.0),
    Step("59.S2", "Overvoltage", "V", 1.15 * NOMINAL_V, 0.2),
    Step("27.S1", "Undervoltage", "V", 0.85 * NOMINAL_V, 1.5),
    Step("27.S2", "Undervoltage, deep", "V", 0.15 * NOMINAL_V, 0.2),
    Step("81>.S1", "Overfrequency, restrictive", "Hz", 50.2, 0.1),
    Step("81<.S1", "Underfrequency, restrictive", "Hz", 49.8, 0.1),
    Step("81>.S2", "Overfrequency, permissive", "Hz", 51.5, 0.1),
    Step("81<.S2", "Underfrequency, permissive", "Hz", 47.5, 0.1),
)
BY_CODE = {s.code: s for s in STEPS}


@dataclass(frozen=True)
class StepResult:
    step: Step
    value: float | None
    time_s: float | None
    passed: bool
    reason: str


def available_in(country: str) -> bool:
    return country.upper() in COUNTRIES


def check_start(params: Any) -> dict[str, Any]:
    """The parameters of an ``autotest`` command: ``{"standard": "CEI 0-21"}``."""
    if not isinstance(params, dict):
        raise AutoTestError("params must be a JSON object")
    extra = sorted(set(params) - {"standard"})
    if extra:
        raise AutoTestError(f"unknown parameter(s) {', '.join(extra)}: autotest takes standard")
    standard = params.get("standard", STANDARD)
    if standard != STANDARD:
        raise AutoTestError(f"standard must be {STANDARD!r}, got {standard!r}", "standard")
    return {"standard": STANDARD}


def check_conditions(confirmed: set[str], agreed: bool) -> None:
    """Every test condition confirmed and the agreement accepted, or which one is missing."""
    missing = [text for key, text in CONDITIONS.items() if key not in confirmed]
    if missing:
        raise AutoTestError(f"confirm the test conditions first: {missing[0]}", "conditions")
    if not agreed:
        raise AutoTestError("accept the agreement to start the test", "agreement")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def judge(step: Step, value: Any, time_s: Any) -> StepResult:
    """One step's verdict from the trip value and time the inverter reported."""
    v, t = _number(value), _number(time_s)
    if v is None or t is None:
        return StepResult(step, v, t, False, "no trip value or time reported")
    off = abs(v - step.threshold)
    if off > step.tolerance + 1e-9:
        return StepResult(
            step,
            v,
            t,
            False,
            f"tripped at {v:g} {step.unit}, {off:.3g} {step.unit} from {step.threshold:g} "
            f"(tolerance ±{step.tolerance:g})",
        )
    limit = step.max_time_s * (1 + TIME_TOLERANCE) + TIME_TOLERANCE_S
    if t < 0 or t > limit:
        return StepResult(step, v, t, False, f"tripped after {t:g} s (at most {limit:.3g} s)")
    return StepResult(step, v, t, True, "")


def judge_report(details: Any) -> list[StepResult]:
    """Every step of the standard judged from a reply's ``{"steps": [{"code", "value",
    "time_s"}]}``; a step the inverter did not report fails."""
    reported: dict[str, dict[str, Any]] = {}
    steps = details.get("steps") if isinstance(details, dict) else None
    for item in steps if isinstance(steps, list) else []:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            reported[item["code"]] = item
    return [
        judge(s, reported.get(s.code, {}).get("value"), reported.get(s.code, {}).get("time_s"))
        for s in STEPS
    ]
