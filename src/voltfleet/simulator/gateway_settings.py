"""A simulated gateway's own settings (domain/gateway_settings.py): it checks each setting as
the platform did (a device never trusts its link), keeps what it applied, and acknowledges with
those values (``details.applied``). The upload interval becomes its reporting interval
(``Reporting.normal_s``: the pace of its batches when no live-data request runs); a reset counts
a reboot and forgets any live-data request (a rebooted gateway starts at its own interval).

Pure: data in, data out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voltfleet.domain import gateway_settings as gs
from voltfleet.simulator.live_data import Reporting

KINDS = frozenset(gs.GATEWAY_SETTING_KINDS)


@dataclass
class GatewaySettings:
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> values
    reboots: int = 0

    def apply(self, body: Any, reporting: Reporting) -> dict[str, Any]:
        """Obey one gateway-setting command body ``{"kind", "params", ...}``; the reply."""
        kind = body.get("kind") if isinstance(body, dict) else None
        try:
            values = gs.check(str(kind), body.get("params") if isinstance(body, dict) else None)
        except gs.GatewaySettingError as exc:
            return {"status": "failed", "message": f"{exc.field}: {exc}"}
        if kind == "gateway_reset":
            self.reboots += 1
            reporting.live_s = reporting.until = reporting.last_live = None
            return {
                "status": "acknowledged",
                "message": f"rebooted (reboot {self.reboots})",
                "details": {"applied": values, "reboots": self.reboots},
            }
        if kind == "upload_interval":
            reporting.normal_s = float(values["interval_s"])
        self.applied[str(kind)] = values
        restart = values.get("restart") or values.get("safe_restart")
        return {
            "status": "acknowledged",
            "message": "applied" + (" and restarted" if restart else ""),
            "details": {"applied": values},
        }
