"""The alarms use case against in-memory fakes of its repositories: the rules without a database
or a web framework, at instants the test chooses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.access import Action, Kind
from voltfleet.domain.alarms import AlarmEvent, EventRefusal, Refusal
from voltfleet.domain.telemetry.quarantine import QuarantineEntry
from voltfleet.usecases import alarms
from voltfleet.usecases.errors import Forbidden, Invalid, NotFound

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class Dev:
    id: str
    serial: str
    site_id: str = "S1"


@dataclass
class Row:
    id: str
    site_id: str
    device_id: str
    code: str
    message: str
    raised_at: datetime
    cleared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    received_at: datetime | None = None
    severity: str = "major"


@dataclass
class FakeIngest:
    devices: list[Dev]
    rows: list[Row] = field(default_factory=list)
    quarantined: list[tuple[QuarantineEntry, datetime]] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)

    def family(self, root: Dev) -> tuple[Mapping[str, Dev], Mapping[str, Dev]]:
        mine = {k: d for d in self.devices if d.site_id == root.site_id for k in (d.id, d.serial)}
        return mine, {}

    def occurrences(self, device_id: str, code: str) -> tuple[Row | None, Row | None]:
        rows = [r for r in self.rows if (r.device_id, r.code) == (device_id, code)]
        current = next((r for r in rows if r.cleared_at is None), None)
        done = sorted((r for r in rows if r.cleared_at), key=lambda r: r.raised_at)
        return current, (done[-1] if done else None)

    def open(self, site_id: str, device_id: str, event: AlarmEvent, now: datetime) -> None:
        self.rows.append(
            Row(
                f"A{len(self.rows)}",
                site_id,
                device_id,
                event.code,
                event.message,
                event.ts,
                received_at=now,
            )
        )

    def clear(self, alarm: Row, at: datetime, message: str) -> None:
        alarm.cleared_at = at
        alarm.message = alarm.message or message

    def quarantine(self, root: Dev, entries: Sequence[QuarantineEntry], now: datetime) -> None:
        self.quarantined += [(e, now) for e in entries]

    def refresh_site(self, site_id: str) -> None:
        self.refreshed.append(site_id)


GW = Dev("G", "GW1")
INV = Dev("I", "GW1-INV")


def ev(code: str, action: str, ts: datetime, device: str = "") -> dict[str, object]:
    return {"device": device, "code": code, "action": action, "ts": ts.isoformat()}


def test_raise_repeat_clear_and_refusals_in_one_batch() -> None:
    repo = FakeIngest([GW, INV])
    t = NOW - timedelta(minutes=10)
    out = alarms.ingest_alarms(
        repo,
        GW,
        [
            ev("INV_GRID_LOST", "raise", t, "GW1-INV"),
            ev(
                "INV_GRID_LOST", "raise", t + timedelta(minutes=1), "GW1-INV"
            ),  # the same occurrence
            ev("INV_GRID_LOST", "clear", t + timedelta(minutes=2), "GW1-INV"),
            ev("INV_GRID_LOST", "raise", t, "NOPE"),
            alarms.Refused({"code": 5}, EventRefusal(Refusal.BAD_EVENT, "code: not text")),
        ],
        now=NOW,
    )
    assert (out.received, out.opened, out.unchanged, out.cleared, out.refused) == (5, 1, 1, 1, 2)
    assert [(i, r.reason) for i, r in out.refusals] == [
        (3, Refusal.UNKNOWN_DEVICE),
        (4, Refusal.BAD_EVENT),
    ]
    [row] = repo.rows
    assert (row.device_id, row.raised_at, row.cleared_at) == ("I", t, t + timedelta(minutes=2))
    assert row.received_at == NOW  # the instant given, not the wall clock
    assert [(e.point, e.reason, at) for e, at in repo.quarantined] == [
        ("alarm", "unknown_device", NOW),
        ("alarm", "bad_alarm_event", NOW),
    ]
    assert repo.refreshed == ["S1"]


def test_an_event_too_far_ahead_of_the_given_now_is_refused() -> None:
    repo = FakeIngest([GW])
    out = alarms.ingest_alarms(
        repo, GW, [ev("INV_GRID_LOST", "raise", NOW + timedelta(hours=1))], now=NOW
    )
    assert [r.reason for _, r in out.refusals] == [Refusal.IN_FUTURE]
    assert repo.rows == [] and repo.refreshed == []


@dataclass
class Actor:
    allowed: set[tuple[Kind, Action]]

    def can(self, kind: Kind, action: Action) -> bool:
        return (kind, action) in self.allowed

    def require(self, kind: Kind, action: Action) -> None:
        if not self.can(kind, action):
            raise Forbidden("no")


@dataclass
class FakeView:
    rows: list[Row]
    acked: list[tuple[str, datetime]] = field(default_factory=list)
    asked: list[alarms.Filters] = field(default_factory=list)

    def get(self, alarm_id: str) -> Row:
        for r in self.rows:
            if r.id == alarm_id:
                return r
        raise NotFound("alarm")

    def page(self, filters: alarms.Filters, offset: int, limit: int) -> tuple[list[Row], int]:
        self.asked.append(filters)
        return self.rows[offset : offset + limit], len(self.rows)

    def matching(self, filters: alarms.Filters, limit: int) -> list[Row]:
        self.asked.append(filters)
        return self.rows[:limit]

    def views(self, rows: Sequence[Row]) -> list[alarms.AlarmView]:
        return [
            alarms.AlarmView(
                r.id,
                r.site_id,
                "",
                r.device_id,
                "",
                "",
                "",
                r.code,
                r.severity,
                r.code,
                "",
                r.message,
                "active",
                r.raised_at,
                r.cleared_at,
                r.acknowledged_at,
                None,
                None,
            )
            for r in rows
        ]

    def acknowledge(self, alarm: Row, now: datetime) -> None:
        alarm.acknowledged_at = now
        self.acked.append((alarm.id, now))

    def active_severities(self) -> list[tuple[str, int]]:
        return [("major", 2), ("warning", 1), ("bogus", 7)]


OM = Actor({(Kind.DEVICE, a) for a in (Action.LIST, Action.READ, Action.UPDATE)})
OWNER = Actor({(Kind.DEVICE, Action.LIST), (Kind.DEVICE, Action.READ)})


def test_acknowledging_is_for_om_once_at_the_given_now() -> None:
    repo = FakeView([Row("A1", "S1", "I", "INV_GRID_LOST", "", NOW - timedelta(hours=1))])
    with pytest.raises(Forbidden):
        alarms.acknowledge(repo, OWNER, "A1", NOW)
    with pytest.raises(NotFound):
        alarms.acknowledge(repo, OM, "A9", NOW)
    assert alarms.acknowledge(repo, OM, "A1", NOW).acknowledged_at == NOW
    alarms.acknowledge(repo, OM, "A1", NOW + timedelta(hours=1))  # again: nothing changes
    assert repo.acked == [("A1", NOW)]


def test_the_list_checks_and_normalises_its_filters() -> None:
    repo = FakeView([Row("A1", "S1", "I", "INV_GRID_LOST", "", NOW)])
    views, total = alarms.list_alarms(
        repo, OWNER, alarms.Filters(severity=" MAJOR ", code=" inv_grid_lost"), offset=0, limit=10
    )
    assert total == 1 and [v.id for v in views] == ["A1"]
    assert (repo.asked[0].severity, repo.asked[0].code) == ("major", "INV_GRID_LOST")
    for bad, words in [
        (alarms.Filters(severity="loud"), "severity must be one of"),
        (alarms.Filters(status="gone"), "status must be one of"),
        (alarms.Filters(since=datetime(2026, 3, 2)), "since needs a UTC offset"),
        (alarms.Filters(since=NOW, until=NOW), "until must be after since"),
    ]:
        with pytest.raises(Invalid, match=words):
            alarms.all_alarms(repo, bad)
    with pytest.raises(Forbidden):
        alarms.list_alarms(repo, Actor(set()), alarms.Filters(), offset=0, limit=10)


def test_active_counts_ignore_unknown_severities() -> None:
    counts = alarms.active_counts(FakeView([]))
    assert counts == {"major": 2, "minor": 0, "warning": 1, "total": 3}
