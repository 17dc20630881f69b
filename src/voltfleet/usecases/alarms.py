"""Alarms: events from a device's credential (HTTP, MQTT, a charger's OCPP faults) raise and clear
occurrences; people list them, filter them and acknowledge them.

Ingest: the device an event is about is resolved *below the sending credential*, as for readings
(a gateway cannot raise an alarm on a device of another gateway). Refused events are answered with
their reason and kept in the quarantine (point ``alarm``, the one quarantine writer), so none is
silently dropped. Two transactions racing to open the same device+code meet the store's partial
unique index: one fails and is retried by its sender, and then finds the occurrence open.

Persistence comes through ``AlarmIngestRepository`` (device side) and ``AlarmRepository`` (a
person's view, already scoped to the sites that person sees); both are implemented in
store/alarm_repository.py. The receiving instant ``now`` comes in as an argument. Never commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from voltfleet.domain.access import Action, Kind
from voltfleet.domain.alarms import (
    AlarmEvent,
    EventLimits,
    EventRefusal,
    Level,
    Occurrence,
    Outcome,
    Refusal,
    Severity,
    codes_matching,
    count_by_level,
    count_by_severity,
    parse_event,
    read_level,
    transition,
)
from voltfleet.domain.fleet import normalise_serial
from voltfleet.domain.telemetry.quarantine import (
    REF_CHARS,
    TS_CHARS,
    VALUE_CHARS,
    QuarantineEntry,
)
from voltfleet.usecases.errors import Forbidden, Invalid

QUARANTINE_POINT = "alarm"
STATUSES = ("active", "cleared", "all")
CSV_MAX_ROWS = 50_000


class DeviceLike(Protocol):
    """What alarm ingest reads of a device (a store row satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def serial(self) -> str: ...
    @property
    def site_id(self) -> str: ...


class AlarmLike(Protocol):
    """A stored occurrence (a store row satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def site_id(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def raised_at(self) -> datetime: ...
    @property
    def cleared_at(self) -> datetime | None: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...


class Actor(Protocol):
    """Who asks (``app.deps.Caller`` satisfies it)."""

    def can(self, kind: Kind, action: Action) -> bool: ...

    def require(self, kind: Kind, action: Action) -> None:
        """Raise ``Forbidden`` unless the actor's role may take the action."""
        ...


D = TypeVar("D", bound=DeviceLike)  # the store's device row
A = TypeVar("A", bound=AlarmLike)  # the store's alarm row


class AlarmIngestRepository(Protocol[D, A]):
    """Alarm ingest's persistence, inside the caller's transaction."""

    def family(self, root: D) -> tuple[Mapping[str, D], Mapping[str, D]]:
        """(the credential's device and the devices below it; the site's other live devices),
        each keyed by id and by serial: the one credential-to-devices resolution."""
        ...

    def occurrences(self, device_id: str, code: str) -> tuple[A | None, A | None]:
        """(the open occurrence, the latest finished one) of a code on a device."""
        ...

    def open(self, site_id: str, device_id: str, event: AlarmEvent, now: datetime) -> None:
        """Store a new occurrence that ``event`` raised (received ``now``); the next event of the
        batch sees it."""
        ...

    def clear(self, alarm: A, at: datetime, message: str) -> None:
        """End the open occurrence at ``at`` (keeping its message, or taking ``message``)."""
        ...

    def quarantine(self, root: D, entries: Sequence[QuarantineEntry], now: datetime) -> None:
        """Keep what was refused, received ``now`` from the credential ``root``."""
        ...

    def refresh_site(self, site_id: str) -> None:
        """The site's status follows its active major alarms."""
        ...


class AlarmNotifier(Protocol):
    """Where a raised alarm is queued for the subscriptions that want it (the delivery itself
    runs later, in a job: ingest never waits for a mail server or a webhook)."""

    def alarm_raised(self, site_id: str, device_id: str, code: str, level: str) -> int:
        """Queue a notification of the alarm just opened (device+code's open occurrence) for
        every subscription that wants it; returns how many were queued."""
        ...


@dataclass(frozen=True)
class Filters:
    """The alarms of a list; ``since``/``until``: alarms active at some time in [since, until)."""

    site_id: str | None = None
    device_id: str | None = None
    severity: str | None = None  # as asked: checked and normalised by ``checked``
    status: str = "all"  # active | cleared | all
    code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    level: str | None = None  # urgent | important | common | prompt
    serial: str | None = None  # part of the device's serial number
    text: str | None = None  # part of the alarm info: code, title or the device's message
    # set by ``checked`` from ``text``: the codes whose code or title holds it
    text_codes: frozenset[str] | None = None
    # more titles per code the text may match (the titles in the reader's language)
    titles: Mapping[str, Sequence[str]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AlarmView:
    """One alarm as a person reads it: with its site, device, catalogue entry and acknowledger."""

    id: str
    site_id: str
    site_name: str
    device_id: str
    device_serial: str
    device_name: str
    device_kind: str
    code: str
    severity: str
    title: str
    suggested_action: str
    message: str
    status: str  # active | cleared
    raised_at: datetime
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_by_email: str | None
    level: str = "common"  # urgent | important | common | prompt


class AlarmRepository(Protocol[A]):
    """The alarms one person sees (the sites in their scope, shared ones included), inside the
    caller's transaction."""

    def get(self, alarm_id: str) -> A:
        """The alarm, or ``NotFound("alarm")`` when it is not in the scope."""
        ...

    def page(self, filters: Filters, offset: int, limit: int) -> tuple[list[A], int]:
        """A page of the matching alarms, newest first, and how many match in all."""
        ...

    def matching(self, filters: Filters, limit: int) -> list[A]:
        """The matching alarms, newest first, at most ``limit``."""
        ...

    def views(self, rows: Sequence[A]) -> list[AlarmView]:
        """The rows as a person reads them."""
        ...

    def acknowledge(self, alarm: A, now: datetime) -> None:
        """Record that the repository's person has seen the alarm ``now`` (and audit it)."""
        ...

    def active_severities(self) -> list[tuple[str, int]]:
        """(severity, count) of the active alarms of the person's *own* sites."""
        ...


# ---- ingest -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """An event the edge could not even read as an alarm event (``raw``: what it could keep)."""

    raw: Mapping[str, object]
    refusal: EventRefusal


@dataclass
class IngestResult:
    received: int = 0
    opened: int = 0
    cleared: int = 0
    unchanged: int = 0
    refused: int = 0
    refusals: list[tuple[int, EventRefusal]] = field(default_factory=list)  # (index, why)


def _resolve(ref: str, root: D, mine: Mapping[str, D], others: Mapping[str, D]) -> D | EventRefusal:
    if not ref:
        return root
    found = mine.get(ref) or mine.get(normalise_serial(ref))
    if found is not None:
        return found
    other = others.get(ref) or others.get(normalise_serial(ref))
    if other is not None:
        return EventRefusal(
            Refusal.FOREIGN_DEVICE, f"{other.serial} is not below gateway {root.serial}"
        )
    return EventRefusal(
        Refusal.UNKNOWN_DEVICE, f"no device '{ref[:64]}' below gateway {root.serial}: bind it"
    )


def _occ(a: AlarmLike | None) -> Occurrence | None:
    return None if a is None else Occurrence(a.raised_at, a.cleared_at)


def _apply(
    repo: AlarmIngestRepository[D, A],
    root: D,
    device: D,
    e: AlarmEvent,
    now: datetime,
    notifier: AlarmNotifier | None,
) -> Outcome:
    current, previous = repo.occurrences(device.id, e.code)
    outcome = transition(e, _occ(current), _occ(previous))
    if outcome is Outcome.OPENED:
        repo.open(root.site_id, device.id, e, now)
        if notifier is not None:
            notifier.alarm_raised(root.site_id, device.id, e.code, e.level.value)
    elif outcome is Outcome.CLEARED:
        assert current is not None
        repo.clear(current, e.ts, e.message)
    return outcome


def _entry(raw: Mapping[str, object], r: EventRefusal) -> QuarantineEntry:
    return QuarantineEntry(
        device_ref=str(raw.get("device", ""))[:REF_CHARS],
        point=QUARANTINE_POINT,
        ts_text=str(raw.get("ts", ""))[:TS_CHARS],
        value_text=f"{raw.get('action', '')} {raw.get('code', '')}".strip()[:VALUE_CHARS],
        unit="",
        reason=r.reason.value,
        detail=r.detail,
    )


def ingest_alarms(
    repo: AlarmIngestRepository[D, A],
    root: D,
    events: Sequence[Mapping[str, object] | Refused],
    *,
    now: datetime,
    limits: EventLimits = EventLimits(),
    notifier: AlarmNotifier | None = None,
) -> IngestResult:
    """Apply a batch of alarm events from the credential ``root`` in order, received at ``now``;
    refused ones are quarantined with their reasons; each alarm opened is queued for
    ``notifier``'s subscriptions in the same transaction."""
    result = IngestResult(received=len(events))
    if not events:
        return result
    mine, others = repo.family(root)
    refused: list[tuple[int, Mapping[str, object], EventRefusal]] = []
    changed = False
    for i, raw in enumerate(events):
        if isinstance(raw, Refused):
            refused.append((i, raw.raw, raw.refusal))
            continue
        parsed = parse_event(raw, now, limits)
        if isinstance(parsed, EventRefusal):
            refused.append((i, raw, parsed))
            continue
        device = _resolve(parsed.device, root, mine, others)
        if isinstance(device, EventRefusal):
            refused.append((i, raw, device))
            continue
        outcome = _apply(repo, root, device, parsed, now, notifier)
        if outcome is Outcome.OPENED:
            result.opened += 1
        elif outcome is Outcome.CLEARED:
            result.cleared += 1
        else:
            result.unchanged += 1
        changed = changed or outcome.changes
    result.refused = len(refused)
    result.refusals = [(i, r) for i, _, r in refused]
    repo.quarantine(root, [_entry(raw, r) for _, raw, r in refused], now)
    if changed:
        repo.refresh_site(root.site_id)
    return result


# ---- a person's view ---------------------------------------------------------------------------


def checked(f: Filters) -> Filters:
    """The filters with their rules applied (severity and code normalised), or ``Invalid``."""
    severity = None
    if f.severity:
        try:
            severity = Severity(f.severity.strip().lower()).value
        except ValueError:
            raise Invalid(
                f"severity must be one of {', '.join(s.value for s in Severity)}"
            ) from None
    if f.status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    for name, value in (("since", f.since), ("until", f.until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name} needs a UTC offset, e.g. 2026-03-02T00:00:00Z")
    if f.since and f.until and f.until <= f.since:
        raise Invalid("until must be after since")
    level = None
    if f.level:
        found = read_level(f.level)
        if found is None:
            raise Invalid(f"level must be one of {', '.join(x.value for x in Level)}")
        level = found.value
    text = (f.text or "").strip()[:100] or None
    serial = (f.serial or "").strip()[:64] or None
    return Filters(
        site_id=f.site_id or None,
        device_id=f.device_id or None,
        severity=severity,
        status=f.status,
        code=f.code.strip().upper() if f.code else None,
        since=f.since,
        until=f.until,
        level=level,
        serial=serial,
        text=text,
        text_codes=frozenset(codes_matching(text, f.titles)) if text else None,
    )


def list_alarms(
    repo: AlarmRepository[A], actor: Actor, filters: Filters, *, offset: int, limit: int
) -> tuple[list[AlarmView], int]:
    """A page of the alarms the actor sees, newest first, and how many match in all."""
    actor.require(Kind.DEVICE, Action.LIST)
    rows, total = repo.page(checked(filters), offset, limit)
    return repo.views(rows), total


def all_alarms(repo: AlarmRepository[A], filters: Filters) -> list[AlarmView]:
    """Every matching alarm (for a download), at most ``CSV_MAX_ROWS``, newest first."""
    return repo.views(repo.matching(checked(filters), CSV_MAX_ROWS))


def get_alarm(repo: AlarmRepository[A], actor: Actor, alarm_id: str) -> AlarmView:
    alarm = repo.get(alarm_id)
    actor.require(Kind.DEVICE, Action.READ)
    return repo.views([alarm])[0]


def acknowledge(repo: AlarmRepository[A], actor: Actor, alarm_id: str, now: datetime) -> A:
    """Mark an alarm as seen by the actor (O&M and administrators) at ``now``. Acknowledging it
    again changes nothing; an active alarm stays active until its device clears it."""
    alarm = repo.get(alarm_id)
    if not actor.can(Kind.DEVICE, Action.UPDATE):
        raise Forbidden("alarms are acknowledged by O&M engineers and administrators")
    if alarm.acknowledged_at is None:
        repo.acknowledge(alarm, now)
    return alarm


class ActiveLevels(Protocol):
    """The active alarms of one person's *own* sites, counted by level."""

    def active_levels(self) -> list[tuple[str, int]]:
        """(level, count) of the active alarms of the person's own sites."""
        ...


def active_level_counts(repo: ActiveLevels) -> dict[str, int]:
    """Active alarms by the manual's four levels over the person's own sites (sites shared to
    them are not counted): {urgent, important, common, prompt, total} (domain count_by_level)."""
    counts = count_by_level([])
    for level, n in repo.active_levels():
        if level in counts and level != "total":
            counts[level] += n
            counts["total"] += n
    return counts


def active_counts(repo: AlarmRepository[A]) -> dict[str, int]:
    """Active alarms by severity over the person's own sites (like the other fleet figures,
    sites shared to them are not counted): {major, minor, warning, total}."""
    counts = count_by_severity([])
    for severity, n in repo.active_severities():
        if severity in counts:
            counts[severity] += n
            counts["total"] += n
    return counts
