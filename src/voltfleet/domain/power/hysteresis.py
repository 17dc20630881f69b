"""Limits that do not oscillate: a lower target is applied at once (a fuse is never put at
risk), a higher one only once it has been asked for, continuously, for the hold time. The
applied limit is therefore never above the allocation, so it keeps every group within its limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Held:
    """What a connector was last given, and since when a higher target has been waiting
    (None: none is)."""

    applied_a: float
    raise_since_s: float | None = None


def smooth(
    previous: Mapping[str, Held], targets: Mapping[str, float], now_s: float, hold_s: float
) -> dict[str, Held]:
    """The limit to apply per connector, from the allocation's ``targets`` and what was held.

    A car that just arrived (no previous entry) starts at its target: nothing to oscillate yet.
    A raise (a paused car resuming included) waits for ``hold_s``, continuously asked for, and
    then jumps to the newest target; a lower target applies at once and ends the wait."""
    out: dict[str, Held] = {}
    for cid, target in targets.items():
        prev = previous.get(cid)
        if prev is None or target <= prev.applied_a or hold_s <= 0:
            out[cid] = Held(target, None)
            continue
        since = prev.raise_since_s if prev.raise_since_s is not None else now_s
        if now_s - since >= hold_s:
            out[cid] = Held(target, None)
        else:
            out[cid] = Held(prev.applied_a, since)
    return out
