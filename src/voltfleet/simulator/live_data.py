"""A simulated gateway's reporting interval and the platform's ``live_data`` command
(domain.commands): ``{"enabled": true, "interval_s": 10, "duration_s": 900}`` makes it report
every 10 s until the request runs out (the platform renews it while live data stays enabled),
then it goes back to its own interval by itself; ``{"enabled": false}`` goes back at once. A
simulated fleet paces its live batches by it (``next_live``, ``live_due``, ``sent_live``).

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
    last_live: float | None = None  # when it last sent a live batch (the gateway's clock)

    def live(self, now: float) -> bool:
        """Whether a live-data request runs at ``now``."""
        return self.live_s is not None and self.until is not None and now < self.until

    def interval_s(self, now: float) -> float:
        """The interval the gateway reports at, at ``now``."""
        if self.live(now) and self.live_s is not None:
            return self.live_s
        return self.normal_s

    def next_live(self, now: float) -> float | None:
        """When its next live batch is due (``now`` at the earliest), None when no request runs:
        a simulated fleet sends the home's newest values then, between its own batches."""
        if not self.live(now) or self.live_s is None:
            return None
        return now if self.last_live is None else max(now, self.last_live + self.live_s)

    def live_due(self, now: float) -> bool:
        """Whether a live batch is due at ``now``."""
        due = self.next_live(now)
        return due is not None and due <= now

    def sent_live(self, now: float) -> None:
        """A live batch went at ``now``."""
        self.last_live = now

    def apply(self, params: Any, now: float) -> dict[str, Any]:
        """Obey a ``live_data`` command's params; the reply (HTTP shape)."""
        if not isinstance(params, dict) or not isinstance(params.get("enabled"), bool):
            return {"status": "failed", "message": "live_data needs enabled: true or false"}
        if not params["enabled"]:
            self.live_s = self.until = self.last_live = None
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
