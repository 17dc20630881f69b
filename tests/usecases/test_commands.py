"""usecases.commands against an in-memory repository and a fake GatewayLink (pure-core unit
tests; the SQLAlchemy repository is exercised by tests/app/test_commands.py and friends): a
command goes queued -> sent -> acknowledged as a ManualClock moves, is pushed only to a gateway
the link reaches (the others' go back to the queue), and a second reply never applies it again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from voltfleet.clock import ManualClock
from voltfleet.domain import commands as dc
from voltfleet.usecases import commands as uc
from voltfleet.usecases.errors import Conflict, Rejected

T0 = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    id: str
    device_id: str
    site_id: str
    gateway_id: str | None
    kind: str
    params: Any
    state: str
    source: str
    created_by: str | None
    not_before: datetime
    expires_at: datetime
    sent_at: datetime | None = None
    sent_via: str | None = None
    replied_at: datetime | None = None
    message: str = ""
    result: Any = None


class MemoryRepo:
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.audits: list[tuple[str, str, dict[str, Any]]] = []
        self.targets = {
            "INV": uc.Target("INV", "S", "inverter", "INV-1", "", 5000.0, "GW"),
            "LOOSE": uc.Target("LOOSE", "S", "battery", "B-9", "", None, None),
        }

    def target(self, device_id: str) -> uc.Target | None:
        return self.targets.get(device_id)

    def add(self, new: uc.NewCommand) -> Row:
        row = Row(f"c{len(self.rows) + 1}", new.target.device_id, new.target.site_id,
                  new.target.gateway_id, new.request.kind.value, dict(new.request.params),
                  new.state.value, new.source, new.created_by, new.not_before,
                  new.expires_at)  # fmt: skip
        self.rows[row.id] = row
        return row

    def get(self, command_id: str, gateway_id: str | None = None) -> Row | None:
        row = self.rows.get(command_id)
        return row if row and (gateway_id is None or row.gateway_id == gateway_id) else None

    def expiring(self, now: datetime, **only: Any) -> Sequence[Row]:
        ids = {k: v for k, v in only.items() if v is not None and k != "limit"}
        return [
            r
            for r in self.rows.values()
            if r.state in ("queued", "sent") and r.expires_at <= now
            and all(getattr(r, "id" if k == "command_id" else k) == v for k, v in ids.items())
        ]  # fmt: skip

    def save(self, command: Any, status: dc.Status, *, result: Mapping[str, Any] | None = None,
             sent_via: str | None = None) -> None:  # fmt: skip
        row = self.rows[command.id]
        row.state, row.sent_at, row.replied_at = (
            status.state.value,
            status.sent_at,
            status.replied_at,
        )
        row.message = status.message
        if status.replied_at is not None:
            row.result = dict(result) if result else None
        row.sent_via = sent_via or row.sent_via

    def due(
        self, gateway_id: str, now: datetime, *, resend_via: str | None, limit: int
    ) -> Sequence[Row]:
        return [
            r for r in self.rows.values()
            if r.gateway_id == gateway_id and r.not_before <= now < r.expires_at
            and (r.state == "queued" or (r.state == "sent" and r.sent_via == resend_via))
        ][:limit]  # fmt: skip

    def mark_sent(self, command_id: str, now: datetime, via: str) -> bool:
        row = self.rows[command_id]
        if row.state != "queued":
            return False
        row.state, row.sent_at, row.sent_via = "sent", now, via
        return True

    def unsend(self, command_ids: Sequence[str]) -> None:
        for i in command_ids:
            self.rows[i] = replace(self.rows[i], state="queued", sent_at=None, sent_via=None)

    def serial_of(self, device_id: str) -> str:
        return self.targets[device_id].serial

    def gateways(self, serials: Iterable[str]) -> Sequence[tuple[str, str]]:
        return [("GW", "GW-1")] if "GW-1" in set(serials) else []

    def audit(self, command: Any, action: str, detail: Mapping[str, Any], now: datetime) -> None:
        self.audits.append((command.id, action, dict(detail)))


class Link:
    """A GatewayLink that reaches some gateways and fails for others."""

    def __init__(self, online: set[str], broken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.online, self.broken, self.sent = online, broken, []  # type: ignore[var-annotated]

    def reachable(self, serial: str) -> bool:
        return serial in self.online

    async def deliver(self, serial: str, command_id: str, body: Mapping[str, Any]) -> None:
        if serial in self.broken:
            raise ConnectionError("publish failed")
        self.sent.append((serial, command_id, dict(body)))


def test_a_command_moves_with_the_manual_clock_and_is_applied_once() -> None:
    repo, clock = MemoryRepo(), ManualClock(T0)
    c = uc.queue(repo, "INV", "battery_setpoint", {"battery_power_w": 1000}, now=clock.now(),
                 ttl=timedelta(minutes=2))  # fmt: skip
    assert c.state == "queued" and c.expires_at == T0 + timedelta(minutes=2)
    clock.advance(timedelta(seconds=30))
    [(serial, d)] = uc.claim_for_serials(repo, {"GW-1", "GW-2"}, clock.now())
    assert serial == "GW-1" and d.device_serial == "INV-1" and c.state == "sent"
    body = {"status": "acknowledged", "details": {"applied_w": 1000}}
    first = uc.record_reply(repo, "GW", c.id, body, clock.now())
    assert first.outcome is uc.ReplyOutcome.RECORDED and c.state == "acknowledged"
    again = uc.record_reply(repo, "GW", c.id, body, clock.now())
    assert again.outcome is uc.ReplyOutcome.REPEAT
    other = uc.record_reply(repo, "GW", c.id, {"status": "failed"}, clock.now())
    assert other.outcome is uc.ReplyOutcome.IGNORED and "already acknowledged" in other.reason
    assert c.state == "acknowledged" and repo.rows[c.id].result == {"applied_w": 1000}


def test_time_expires_a_queued_command_and_fails_an_unanswered_one() -> None:
    repo, clock = MemoryRepo(), ManualClock(T0)
    sent = uc.queue(repo, "INV", "battery_mode", {"mode": "idle"}, now=clock.now(),
                    ttl=timedelta(minutes=5))  # fmt: skip
    uc.claim(repo, "GW", clock.now(), uc.HTTP)
    queued = uc.queue(repo, "INV", "battery_mode", {"mode": "idle"}, now=clock.now(),
                      ttl=timedelta(minutes=1))  # fmt: skip
    clock.advance(timedelta(minutes=1))
    assert uc.sweep(repo, clock.now()) == 1 and queued.state == "expired"
    clock.advance(timedelta(minutes=4))
    assert uc.sweep(repo, clock.now()) == 1 and sent.state == "failed"
    late = uc.record_reply(repo, "GW", sent.id, {"status": "acknowledged"}, clock.now())
    assert late.outcome is uc.ReplyOutcome.IGNORED and sent.state == "failed"


def test_push_goes_through_the_gateway_link_and_what_failed_goes_back_to_the_queue() -> None:
    repo = MemoryRepo()
    a = uc.queue(repo, "INV", "battery_mode", {"mode": "idle"}, now=T0)
    b = uc.queue(repo, "INV", "battery_mode", {"mode": "idle"}, now=T0)
    due = [("GW-1", a.id, {"id": a.id}), ("GW-2", b.id, {"id": b.id})]
    link = Link({"GW-1", "GW-2"}, broken={"GW-2"})
    assert asyncio.run(uc.push(link, due)) == [b.id]
    assert link.sent == [("GW-1", a.id, {"id": a.id})]
    assert asyncio.run(uc.push(Link(set()), due[:1])) == [a.id]  # offline: not even tried


def test_a_device_without_a_gateway_cannot_be_commanded() -> None:
    with pytest.raises(Conflict, match="no gateway above it"):
        uc.queue(MemoryRepo(), "LOOSE", "battery_mode", {"mode": "idle"}, now=T0)
    with pytest.raises(Rejected, match="beyond the device's limit"):
        uc.queue(MemoryRepo(), "INV", "battery_setpoint", {"battery_power_w": 9000}, now=T0)
