"""The simulated gateway's register bank: reads, writes read back, read-only points refused,
vendor words, scans; other command kinds are left to simulator/commands.py."""

from __future__ import annotations

from voltfleet.simulator.register_bank import RegisterBank, answer

AT = "2026-06-01T09:30:00Z"


def cmd(kind: str, params: dict[str, object], device: str = "INV1") -> dict[str, object]:
    return {"id": "c1", "kind": kind, "device": device, "params": params}


def test_reads_writes_and_refusals() -> None:
    bank = RegisterBank()
    read = answer(
        bank,
        cmd("register_read", {"points": [{"model": 124, "point": "WChaMax"},
                                         {"address": 40100, "count": 2}]}),
        {"INV1"},
        AT,
    )  # fmt: skip
    assert read == {
        "status": "acknowledged",
        "message": "2 register(s) read",
        "details": {
            "values": [
                {"model": 124, "point": "WChaMax", "value": 5000},
                {"address": 40100, "words": [0, 0]},
            ],
            "read_at": AT,
        },
    }
    w = answer(bank, cmd("register_write", {"model": 704, "point": "WMaxLimPct", "value": 40}),
               {"INV1"}, AT)  # fmt: skip
    assert w is not None and w["details"]["before"] == 100 and w["details"]["after"] == 40
    words = answer(bank, cmd("register_write", {"address": 40100, "words": [7, 8]}), {"INV1"}, AT)
    assert words is not None and words["details"] == {
        "before": [0, 0],
        "after": [7, 8],
        "read_at": AT,
    }
    ro = answer(bank, cmd("register_write", {"model": 103, "point": "W", "value": 1}), {"INV1"}, AT)
    assert ro is not None and ro["status"] == "failed" and "read-only" in ro["message"]
    other = answer(bank, cmd("register_read", {"points": []}, device="X"), {"INV1"}, AT)
    assert other is not None and other["status"] == "failed"
    scan = answer(bank, {"kind": "scan", "params": {}}, {"INV1"}, AT, found=3)
    assert scan is not None and scan["details"] == {"found": 3}
    assert answer(bank, cmd("battery_mode", {"mode": "idle"}), {"INV1"}, AT) is None
