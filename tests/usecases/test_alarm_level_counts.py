"""The home tiles' and fleet KPIs' alarm counts by the manual's four levels (issue 19)."""

from __future__ import annotations

from voltfleet.usecases.alarms import active_level_counts


class _Levels:
    def active_levels(self) -> list[tuple[str, int]]:
        return [("urgent", 2), ("prompt", 3), ("common", 1), ("bogus", 7), ("total", 9)]


class _None:
    def active_levels(self) -> list[tuple[str, int]]:
        return []


def test_counts_by_level_ignore_what_is_not_a_level() -> None:
    assert active_level_counts(_Levels()) == {
        "urgent": 2,
        "important": 0,
        "common": 1,
        "prompt": 3,
        "total": 6,
    }
    assert active_level_counts(_None()) == {
        "urgent": 0,
        "important": 0,
        "common": 0,
        "prompt": 0,
        "total": 0,
    }
