"""The gateway's own settings, carried out by the edge agent (the command kinds of
domain/gateway_settings.py; what each does here is in docs/edge-gateway-settings.md):

- ``upload_interval``: the agent polls its devices and publishes their readings every
  ``interval_s`` from then on; ``safe_restart`` restarts its loop as ``gateway_reset`` does;
- ``gateway_reset``: the agent's loop restarts: its Modbus connections are closed and opened
  again, the bus is scanned again and the TOU table is read back from disk. Readings waiting in
  the outbox stay there and are sent; the MQTT session (which carries this acknowledgement) is
  kept;
- ``gateway_protocol``: kept per Modbus address; the addresses given ``SunSpec`` are added to
  the units the agent scans (and scanned at once, so the platform adds what answers); the other
  protocols are kept and reported, as this agent reads SunSpec only;
- ``serial_forwarding``, ``tcp_forwarding``, ``gateway_baud_rate``: kept in the agent's local
  configuration and reported back; this agent forwards nothing and its serial line is set by
  its own configuration file (a hardware gateway reopens its port with them).

Each setting is checked again (a device never trusts its link), written to the outbox database
(the agent's local configuration, kept across restarts) and **read back** from it: the
acknowledgement's ``details.applied`` is what was read back, as a register write reports
``after``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from voltfleet.domain import gateway_settings as gs
from voltfleet.edge.outbox import Outbox

KINDS = frozenset(gs.GATEWAY_SETTING_KINDS)


def _ok(message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"status": "acknowledged", "message": message, "details": details}


def _failed(message: str) -> dict[str, Any]:
    return {"status": "failed", "message": message, "details": {}}


def sunspec_units(outbox: Outbox) -> tuple[int, ...]:
    """The Modbus addresses the platform set to ``SunSpec`` (``gateway_protocol``)."""
    kept = outbox.setting("gateway_protocol") or {}
    return tuple(
        int(d["address"]) for d in kept.get("devices", []) if d.get("protocol") == "SunSpec"
    )


def upload_interval_s(outbox: Outbox) -> float | None:
    """The upload interval the platform set, or None (the configuration's ``poll_s``)."""
    kept = outbox.setting("upload_interval")
    return None if kept is None else float(kept["interval_s"])


class GatewayControl:
    """The settings' effects on the running agent are its callbacks: ``set_interval`` (seconds),
    ``restart`` (the loop restarts after this command's reply) and ``rescan`` (units)."""

    def __init__(
        self,
        outbox: Outbox,
        set_interval: Callable[[float], float],
        restart: Callable[[str], None],
        rescan: Callable[[list[int] | None], Awaitable[int]],
    ) -> None:
        self.outbox = outbox
        self.set_interval = set_interval
        self.restart = restart
        self.rescan = rescan

    async def apply(self, kind: str, params: Any) -> dict[str, Any]:
        try:
            values = gs.check(kind, params)
        except gs.GatewaySettingError as exc:
            return _failed(f"{exc.field}: {exc}")
        if kind == "gateway_reset":
            restarts = await asyncio.to_thread(self.outbox.count, "reset_requests")
            self.restart("reset")
            return _ok(
                "the agent's loop restarts (readings waiting in the outbox are kept)",
                {"applied": values, "resets": restarts},
            )
        await asyncio.to_thread(self.outbox.keep_setting, kind, values)
        back = await asyncio.to_thread(self.outbox.setting, kind)  # the value read back
        if back != values:
            return _failed(f"the setting did not persist: read back {back!r}")
        details: dict[str, Any] = {"applied": back}
        message = "applied"
        if kind == "upload_interval":
            details["poll_s"] = self.set_interval(float(back["interval_s"]))
            message = f"publishing every {back['interval_s']} s"
            if back["safe_restart"]:
                self.restart("upload interval")
                message += "; the agent's loop restarts (no reading is lost)"
        elif kind == "gateway_protocol":
            units = [int(d["address"]) for d in back["devices"] if d["protocol"] == "SunSpec"]
            others = [d["address"] for d in back["devices"] if d["protocol"] != "SunSpec"]
            details["found"] = await self.rescan(units) if units else 0
            message = f"SunSpec scanned at {units or 'no address'}"
            if others:
                message += f"; kept but not read at {others} (this agent reads SunSpec only)"
        else:  # serial_forwarding, tcp_forwarding, gateway_baud_rate
            message = "kept in the agent's configuration (this agent forwards nothing)"
            if back.get("restart"):
                self.restart(kind)
                message += "; the agent's loop restarts"
        return _ok(message, details)
