"""Read planning: the registers a poll needs of a device, as few Modbus reads as possible.

Each needed piece (a point, a scale factor: ``(address, size)``) is read whole, and pieces are
gathered into spans of at most 125 registers (the most one Read Holding Registers returns),
across the gaps between them and across adjacent models: on a bus a round trip costs far more
than the registers a gap adds, and every register between two points of a SunSpec device's
models (their id and length registers too) is readable. Sorted by address and taken greedily,
as few spans result as any cover of the pieces can have.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_READ = 125  # registers in one Read Holding Registers (Modbus application protocol)


def spans(pieces: Iterable[tuple[int, int]], max_read: int = MAX_READ) -> list[tuple[int, int]]:
    """``(address, count)`` reads covering every ``(address, size)`` piece, none split."""
    out: list[tuple[int, int]] = []
    start = end = -1
    for address, size in sorted(set(pieces)):
        if size < 1 or size > max_read:
            raise ValueError(f"a piece of {size} registers at {address} fits no read")
        if out and max(end, address + size) - start <= max_read:
            end = max(end, address + size)
            out[-1] = (start, end - start)
            continue
        start, end = address, address + size
        out.append((start, size))
    return out
