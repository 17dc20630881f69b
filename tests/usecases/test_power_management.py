"""The power-management use case against fakes of its ports: what a cycle decides to send (only
what changed), and how it treats chargers that are not connected, refuse or fail."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from voltfleet.domain.power.allocate import Demand
from voltfleet.domain.power.hysteresis import Held
from voltfleet.domain.power.modes import PowerSettings
from voltfleet.domain.power.tree import Connector, GridType, Group, Tree
from voltfleet.usecases import power_management as pm

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TREE = Tree(
    GridType.THREE_400,
    (Group("main", None, 25.0),),
    (Connector("a", "main", 32.0), Connector("b", "main", 32.0)),
)
OUTLETS = {"a": pm.Outlet("EVC-A", 1), "b": pm.Outlet("EVC-B", 1)}


class FakeRepo:
    def __init__(self, snap: pm.Snapshot) -> None:
        self.snap = snap
        self.saved: list[Mapping[str, Held]] = []
        self.recorded: list[Mapping[str, tuple[float, int]]] = []

    def location_ids(self) -> list[str]:
        return [self.snap.location_id]

    def snapshot(self, location_id: str, now: datetime) -> pm.Snapshot | None:
        return self.snap if location_id == self.snap.location_id else None

    def save(
        self, location_id: str, held: Mapping[str, Held], surplus_seen_s: float | None
    ) -> None:
        self.saved.append(dict(held))
        self.snap = pm.Snapshot(**{**self.snap.__dict__, "held": dict(held)})

    def record_sent(
        self,
        location_id: str,
        limits: Mapping[str, tuple[float, int]],
        fallbacks: Mapping[str, float],
        now: datetime,
    ) -> None:
        self.recorded.append(dict(limits))
        sent = dict(self.snap.sent)
        for cid, (a, ph) in limits.items():
            old = sent.get(cid, pm.Sent())
            sent[cid] = pm.Sent(a, ph, fallbacks.get(cid, old.fallback_a))
        for cid, f in fallbacks.items():
            old = sent.get(cid, pm.Sent())
            sent[cid] = pm.Sent(old.limit_a, old.phases, f)
        self.snap = pm.Snapshot(**{**self.snap.__dict__, "sent": sent})


class Link:
    def __init__(self, offline: set[str] = frozenset(), failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.offline, self.failing = offline, failing
        self.calls: list[tuple[str, float]] = []

    def connected(self, serial: str) -> bool:
        return serial not in self.offline

    async def set_current_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        if serial in self.failing:
            raise TimeoutError("no answer")
        self.calls.append((serial, limit_a))
        return True

    async def set_fallback_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        return True

    async def remote(
        self, serial: str, action: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        raise NotImplementedError


def snapshot(*demands: Demand) -> pm.Snapshot:
    return pm.Snapshot(
        "loc", TREE, PowerSettings(raise_hold_s=0), list(demands), {}, 720, OUTLETS, {}, {}
    )


def cycle(repo: FakeRepo, link: Link, now: datetime) -> pm.Outcome:
    d = pm.plan(repo, "loc", now)
    assert d is not None
    out = asyncio.run(pm.send(link, d))
    pm.record(repo, out, now)
    return out


def test_only_changed_limits_are_sent() -> None:
    repo, link = FakeRepo(snapshot(Demand("a"), Demand("b"))), Link()
    out = cycle(repo, link, NOW)
    assert sorted(link.calls) == [("EVC-A", 12.5), ("EVC-B", 12.5)] and out.failed == []
    cycle(repo, link, NOW + timedelta(seconds=5))
    assert len(link.calls) == 2  # the same answer: nothing sent
    repo.snap = pm.Snapshot(**{**repo.snap.__dict__, "demands": [Demand("a")]})
    cycle(repo, link, NOW + timedelta(seconds=10))
    assert link.calls[-1] == ("EVC-A", 25.0)


def test_a_charger_that_is_offline_or_fails_gets_its_limit_next_cycle() -> None:
    repo = FakeRepo(snapshot(Demand("a"), Demand("b")))
    out = cycle(repo, Link(offline={"EVC-A"}, failing={"EVC-B"}), NOW)
    assert sorted(out.failed) == ["a", "b"] and out.sent == {}
    link = Link()
    cycle(repo, link, NOW + timedelta(seconds=5))
    assert sorted(link.calls) == [("EVC-A", 12.5), ("EVC-B", 12.5)]


def test_without_a_link_a_cycle_still_decides_and_keeps_its_state() -> None:
    repo = FakeRepo(snapshot(Demand("a")))
    d = pm.plan(repo, "loc", NOW)
    assert d is not None and [c.limit_a for c in d.commands] == [25.0]
    out = asyncio.run(pm.send(None, d))
    assert out.failed == ["a"] and repo.saved[-1]["a"].applied_a == 25.0
