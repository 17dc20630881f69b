"""What a reading is once it has been checked: a value of one data point of one device at an
instant (timezone-aware UTC), in the point's canonical unit."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class Reading(NamedTuple):
    device_id: str
    point: str
    ts: datetime  # aware, UTC
    value: float  # in the point's canonical unit

    @property
    def key(self) -> tuple[str, str, datetime]:
        """The natural key: a reading with the same key is a duplicate and is stored once."""
        return (self.device_id, self.point, self.ts)


class Sample(NamedTuple):
    """One stored value of a series (a device's data point)."""

    ts: datetime
    value: float
