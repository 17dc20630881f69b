"""A simulated gateway's registers: a small in-memory bank per device that answers the
platform's ``register_read``, ``register_write`` and ``scan`` commands (wire contract in
docs/device-settings.md), so the demo's Settings page reads and writes something.

Pure apart from the bank it changes: data in, the reply out. SunSpec points hold scaled values
(the gateway would apply the scale factor), vendor addresses hold 16-bit words. A point the
bank does not know reads as 0 (words: zeros); read-only points refuse a write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REGISTER_KINDS = ("register_read", "register_write", "scan")

# (model, point) -> (initial value, writable): a hybrid inverter with storage and DER controls.
DEFAULTS: dict[tuple[int, str], tuple[float | str, bool]] = {
    (1, "Mn"): ("Voltfleet Sim", False),
    (1, "Md"): ("SIM-HYB-5K", False),
    (1, "Vr"): ("1.4.2", False),
    (1, "DA"): (1, True),
    (103, "W"): (0, False),
    (103, "Hz"): (50.0, False),
    (124, "WChaMax"): (5000, True),
    (124, "StorCtl_Mod"): (0, True),
    (124, "MinRsvPct"): (10, True),
    (124, "ChaState"): (55, False),
    (704, "WMaxLimPctEna"): (0, True),
    (704, "WMaxLimPct"): (100, True),
    (704, "WSetEna"): (0, True),
    (704, "WSet"): (0, True),
}


@dataclass
class RegisterBank:
    """The registers of the devices below one gateway: serial -> key -> value."""

    points: dict[str, dict[tuple[int, str], float | str]] = field(default_factory=dict)
    words: dict[str, dict[int, int]] = field(default_factory=dict)
    read_only: set[tuple[int, str]] = field(
        default_factory=lambda: {k for k, (_, rw) in DEFAULTS.items() if not rw}
    )

    def device(self, serial: str) -> dict[tuple[int, str], float | str]:
        if serial not in self.points:
            self.points[serial] = {k: v for k, (v, _) in DEFAULTS.items()}
        return self.points[serial]

    def read_words(self, serial: str, address: int, count: int) -> list[int]:
        bank = self.words.setdefault(serial, {})
        return [bank.get(address + i, 0) for i in range(count)]


def _fail(message: str) -> dict[str, Any]:
    return {"status": "failed", "message": message, "details": {}}


def answer(
    bank: RegisterBank, body: Any, devices: set[str], read_at: str, found: int = 0
) -> dict[str, Any] | None:
    """The reply to a register or scan command (None: not one of those kinds). ``devices``: the
    serials below the gateway; ``read_at``: the instant to report (ISO 8601 UTC)."""
    if not isinstance(body, dict) or body.get("kind") not in REGISTER_KINDS:
        return None
    params = body.get("params") if isinstance(body.get("params"), dict) else {}
    assert isinstance(params, dict)
    if body["kind"] == "scan":
        return {"status": "acknowledged", "message": "bus scanned", "details": {"found": found}}
    serial = body.get("device")
    if serial not in devices:
        return _fail(f"no device {serial!r} below this gateway")
    assert isinstance(serial, str)
    values = bank.device(serial)
    if body["kind"] == "register_read":
        out: list[dict[str, Any]] = []
        for p in params.get("points") or []:
            if not isinstance(p, dict):
                return _fail("unreadable point")
            if "model" in p:
                key = (int(p["model"]), str(p["point"]))
                out.append({"model": key[0], "point": key[1], "value": values.get(key, 0)})
            else:
                address, count = int(p["address"]), int(p.get("count", 1))
                out.append({"address": address, "words": bank.read_words(serial, address, count)})
        return {
            "status": "acknowledged",
            "message": f"{len(out)} register(s) read",
            "details": {"values": out, "read_at": read_at},
        }
    if "model" in params:
        key = (int(params["model"]), str(params["point"]))
        if key in bank.read_only:
            return _fail(f"{key[1]} is read-only")
        before = values.get(key, 0)
        values[key] = params.get("value", 0)
        after = values[key]
    else:
        address, words = int(params["address"]), [int(w) for w in params.get("words") or []]
        before_w = bank.read_words(serial, address, len(words))
        wbank = bank.words.setdefault(serial, {})
        for i, w in enumerate(words):
            wbank[address + i] = w & 0xFFFF
        after_w = bank.read_words(serial, address, len(words))
        return _written(before_w, after_w, read_at)
    return _written(before, after, read_at)


def _written(before: Any, after: Any, read_at: str) -> dict[str, Any]:
    return {
        "status": "acknowledged",
        "message": "written and read back",
        "details": {"before": before, "after": after, "read_at": read_at},
    }
