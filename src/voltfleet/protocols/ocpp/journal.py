"""A charger's message log: the last frames it sent and received, newest last, each clipped, for
the charger's page. Kept in memory by the process that holds the connection (a log for people
looking at a charger now, not an archive: the audit log keeps the commands people sent)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Entry:
    at: datetime
    direction: str  # "in": from the charger; "out": to the charger; "event": the connection
    text: str


class Journal:
    def __init__(self, now: Callable[[], datetime], size: int = 200, chars: int = 2000) -> None:
        self._now = now
        self.chars = chars
        self._entries: deque[Entry] = deque(maxlen=size)

    def add(self, direction: str, text: str) -> None:
        clipped = text if len(text) <= self.chars else text[: self.chars] + "..."
        self._entries.append(Entry(self._now(), direction, clipped))

    def entries(self) -> list[Entry]:
        return list(self._entries)
