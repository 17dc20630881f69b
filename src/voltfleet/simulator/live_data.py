"""A simulated gateway's reporting interval and the platform's ``live_data`` command
(domain.commands): ``{"enabled": true, "interval_s": 10, "duration_s": 900}`` makes it report
every 10 s until the request runs out (the platform renews it while live data stays enabled),
then it goes back to its own interval by itself; ``{"enabled": false}`` goes back at once.

Pure: the gateway's clock reading comes in as ``now`` (seconds, any monotonic origin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Reporting:
    normal_s: float = 300.0  # the gateway's own interval
    live_s: float | None = None  # while a live-data request runs
    until: float | None = None  # when it runs out (the gateway's clock)

    def interval_s(self, now: float) -> float:
        """The interval the gateway reports at, at ``now``."""
        if self.live_s is not None and self.until is not None and now < self.until:
            return self.live_s
        return self.normal_s

    def apply(self, params: Any, now: float) -> dict[str, Any]:
        """Obey a ``live_data`` command's params; the reply (HTTP shape)."""
        if not isinstance(params, dict) or not isinstance(params.get("enabled"), bool):
            return {"status": "failed", "message": "live_data needs enabled: true or false"}
        if not params["enabled"]:
            self.live_s = self.until = None
            return _ok(f"back to every {self.normal_s:g} s", self.normal_s)
        interval, duration = params.get("interval_s"), params.get("duration_s")
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0
            for v in (interval, duration)
        )
        if not numbers:
            return {"status": "failed", "message": "interval_s and duration_s must be > 0"}
        self.live_s, self.until = float(interval), now + float(duration)  # type: ignore[arg-type]
        return _ok(f"every {self.live_s:g} s for {float(duration):g} s", self.live_s)  # type: ignore[arg-type]


def _ok(message: str, interval_s: float) -> dict[str, Any]:
    return {"status": "acknowledged", "message": message, "details": {"interval_s": interval_s}}
