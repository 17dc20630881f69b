"""Device alarms as data: the code catalogue, reading an alarm event, and an alarm's life.

Pure: data in, data out; no I/O, no clock (``now`` is passed in).

A gateway reports an alarm of one of its devices as an event::

    {"device": "<serial below the gateway, or empty for the gateway>", "code": "BAT_COMM_LOST",
     "action": "raise" | "clear", "ts": "2026-03-02T10:15:00Z", "message": "optional text"}

An *occurrence* of a code on a device runs from a raise until the clear that follows it. A second
raise of an open occurrence is the same occurrence (gateways repeat themselves, and MQTT
redelivers); a clear without an open occurrence changes nothing. So resending any event is
harmless.

Levels are the manual's four alarm types (``Level``): *urgent* the device stopped, act now;
*important* its efficiency suffers, act; *common* no effect on operation, acting is optional;
*prompt* information only. Each catalogue code has a level; an occurrence keeps the level it was
raised with. The older three-step ``Severity`` (major / minor / warning) stays for the API's
``severity`` field and the site status: urgent is major, important is minor, common and prompt are
warning (``SEVERITY_OF_LEVEL``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from voltfleet.domain.fleet import DeviceKind
from voltfleet.domain.instants import InstantError, Problem, read_instant


class Severity(StrEnum):
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


SEVERITY_MEANING: dict[Severity, str] = {
    Severity.MAJOR: "the device stopped or cannot do its job: act now",
    Severity.MINOR: "the device runs with reduced performance: act soon",
    Severity.WARNING: "no effect on operation yet: look when convenient",
}
SEVERITY_ORDER: dict[Severity, int] = {Severity.MAJOR: 0, Severity.MINOR: 1, Severity.WARNING: 2}


class Level(StrEnum):
    """The manual's alarm types, most pressing first."""

    URGENT = "urgent"
    IMPORTANT = "important"
    COMMON = "common"
    PROMPT = "prompt"


LEVEL_MEANING: dict[Level, str] = {
    Level.URGENT: "The device has stopped running; immediate intervention is required.",
    Level.IMPORTANT: "Device efficiency is affected; intervention is required.",
    Level.COMMON: "No impact on device operation; intervention is optional.",
    Level.PROMPT: "Informational messages are displayed.",
}
LEVEL_ORDER: dict[Level, int] = {level: i for i, level in enumerate(Level)}
# A stored alarm of the three-step scale, as a level (how rows raised before levels are read).
LEVEL_OF_SEVERITY: dict[Severity, Level] = {
    Severity.MAJOR: Level.URGENT,
    Severity.MINOR: Level.IMPORTANT,
    Severity.WARNING: Level.COMMON,
}
SEVERITY_OF_LEVEL: dict[Level, Severity] = {
    Level.URGENT: Severity.MAJOR,
    Level.IMPORTANT: Severity.MINOR,
    Level.COMMON: Severity.WARNING,
    Level.PROMPT: Severity.WARNING,
}


def level_of(severity: str) -> Level:
    """The level of a stored severity (``major`` -> urgent ...); unknown text is common."""
    try:
        return LEVEL_OF_SEVERITY[Severity(severity)]
    except ValueError:
        return Level.COMMON


def read_level(text: str) -> Level | None:
    """A level from what a person typed (case and spaces ignored), or None."""
    try:
        return Level(text.strip().lower())
    except ValueError:
        return None


class AlarmAction(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"


@dataclass(frozen=True)
class AlarmCode:
    code: str
    device_kind: DeviceKind  # the kind of device that usually reports it
    severity: Severity
    title: str
    action: str  # what a person should do about it
    level: Level  # the manual's alarm type


def _c(
    code: str,
    kind: DeviceKind,
    severity: Severity,
    title: str,
    action: str,
    level: Level | None = None,
) -> AlarmCode:
    """A catalogue entry; its level follows its severity unless given (prompt codes)."""
    return AlarmCode(code, kind, severity, title, action, level or LEVEL_OF_SEVERITY[severity])


_I, _B, _M, _E, _G = (
    DeviceKind.INVERTER,
    DeviceKind.BATTERY,
    DeviceKind.METER,
    DeviceKind.CHARGER,
    DeviceKind.GATEWAY,
)
_MAJ, _MIN, _WARN = Severity.MAJOR, Severity.MINOR, Severity.WARNING

CATALOGUE: dict[str, AlarmCode] = {
    a.code: a
    for a in (
        _c(
            "INV_GRID_LOST",
            _I,
            _MAJ,
            "Grid lost: the inverter disconnected",
            "Check the AC breaker and the grid supply at the house; the inverter reconnects by "
            "itself when the grid is back. If the grid is present, check the AC wiring.",
        ),
        _c(
            "INV_GRID_OVERVOLTAGE",
            _I,
            _MIN,
            "Grid voltage above the limit: the inverter derates",
            "If it happens often at noon, measure the voltage at the connection point and ask "
            "the grid operator; check the AC cable cross-section and the country setting.",
        ),
        _c(
            "INV_ISOLATION_FAULT",
            _I,
            _MAJ,
            "Low insulation resistance between PV and earth",
            "Do not touch the DC side. Have an electrician test each string's insulation "
            "(often water in a connector or a damaged cable) before restarting.",
        ),
        _c(
            "INV_ARC_FAULT",
            _I,
            _MAJ,
            "DC arc detected: the inverter stopped",
            "Inspect the DC connectors and cables of the strings for burns or loose contacts, "
            "then clear the fault on the inverter.",
        ),
        _c(
            "INV_OVER_TEMPERATURE",
            _I,
            _MIN,
            "Inverter over temperature: output reduced",
            "Clear the heat sink and the air inlets; make sure the inverter is out of direct "
            "sun and has the clearance its manual asks for.",
        ),
        _c(
            "INV_FAN_FAULT",
            _I,
            _WARN,
            "Cooling fan fault",
            "Check the fan for dirt or a blocked blade and replace it at the next visit.",
        ),
        _c(
            "BAT_COMM_LOST",
            _B,
            _MAJ,
            "Battery communication lost: the battery stays idle",
            "Check the BMS cable between inverter and battery (CAN/RS485) and its termination; "
            "restart the battery if it does not recover by itself within minutes.",
        ),
        _c(
            "BAT_OVER_TEMPERATURE",
            _B,
            _MIN,
            "Battery temperature high: charge and discharge limited",
            "Check the room's ventilation and temperature; the battery recovers when it cools.",
        ),
        _c(
            "BAT_CELL_IMBALANCE",
            _B,
            _WARN,
            "Cell voltages drifting apart",
            "Let the battery charge fully once to balance; if it persists, contact the battery "
            "maker's support with the serial number.",
        ),
        _c(
            "MTR_COMM_LOST",
            _M,
            _MIN,
            "Meter communication lost: export limit and self-consumption run blind",
            "Check the meter's RS485 or network cable and its address; the inverter falls back "
            "to its safe export setting meanwhile.",
        ),
        _c(
            "MTR_CT_REVERSED",
            _M,
            _WARN,
            "Meter current transformer reversed",
            "Turn the CT on the phase that reads negative import at night, or correct the "
            "direction in the meter's settings.",
        ),
        _c(
            "EVC_RESIDUAL_CURRENT",
            _E,
            _MAJ,
            "Residual current detected: charging stopped",
            "Unplug the car and test the charger's RCD; if it trips again with another car, "
            "have the charger inspected.",
        ),
        _c(
            "EVC_CONNECTOR_LOCK",
            _E,
            _MIN,
            "Connector lock failure",
            "Check the cable lock actuator and that the plug is fully inserted.",
        ),
        _c(
            "GW_BUFFER_NEARLY_FULL",
            _G,
            _MIN,
            "Gateway data buffer nearly full",
            "The gateway cannot reach the platform for long; check its internet connection "
            "before buffered readings are overwritten.",
        ),
        _c(
            "GW_CLOCK_UNSYNCED",
            _G,
            _WARN,
            "Gateway clock not synchronised",
            "Allow NTP (UDP 123) from the gateway; readings with a wrong clock are quarantined.",
        ),
        _c(
            "BAT_CALIBRATING",
            _B,
            _WARN,
            "Battery calibration charge running",
            "Nothing to do: the battery charges fully once to recalibrate its state of charge; "
            "self-consumption resumes when it ends.",
            Level.PROMPT,
        ),
        _c(
            "INV_EXPORT_LIMITED",
            _I,
            _WARN,
            "Export limited to the configured grid limit",
            "Nothing to do unless the limit is wrong: the inverter curtails PV to the export "
            "limit set for the site's grid connection.",
            Level.PROMPT,
        ),
    )
}


def codes_matching(text: str, titles: Mapping[str, Iterable[str]] | None = None) -> set[str]:
    """The catalogue codes whose code or title holds ``text`` (case ignored); ``titles`` adds
    more titles per code (say, translations)."""
    needle = text.strip().casefold()
    if not needle:
        return set(CATALOGUE)
    found = set()
    for code, entry in CATALOGUE.items():
        names = [code, entry.title, *((titles or {}).get(code, ()))]
        if any(needle in n.casefold() for n in names):
            found.add(code)
    return found


# ---- events -------------------------------------------------------------------------------------


class Refusal(StrEnum):
    """Why an alarm event was refused (and quarantined)."""

    BAD_EVENT = "bad_alarm_event"  # not an object with the expected fields
    UNKNOWN_CODE = "unknown_alarm_code"
    BAD_ACTION = "bad_alarm_action"
    BAD_TIMESTAMP = "bad_timestamp"
    IN_FUTURE = "in_future"
    TOO_OLD = "too_old"
    UNKNOWN_DEVICE = "unknown_device"  # no such device below the sending gateway
    FOREIGN_DEVICE = "foreign_device"  # a device of the site, but below another gateway


@dataclass(frozen=True)
class EventLimits:
    """How far an event's timestamp may stray from the receiving clock."""

    future: timedelta = timedelta(minutes=5)
    late_window: timedelta = timedelta(days=30)
    message_chars: int = 500


@dataclass(frozen=True)
class AlarmEvent:
    device: str  # as sent: a serial or id below the gateway, "" for the gateway itself
    code: str  # a catalogue code
    action: AlarmAction
    ts: datetime  # aware
    message: str = ""

    @property
    def severity(self) -> Severity:
        return CATALOGUE[self.code].severity

    @property
    def level(self) -> Level:
        return CATALOGUE[self.code].level


@dataclass(frozen=True)
class EventRefusal:
    reason: Refusal
    detail: str


def parse_event(
    raw: Mapping[str, object], now: datetime, limits: EventLimits = EventLimits()
) -> AlarmEvent | EventRefusal:
    """An alarm event from its wire form, or why it is refused."""
    device = raw.get("device", "")
    code = raw.get("code")
    action = raw.get("action")
    ts_text = raw.get("ts")
    message = raw.get("message", "")
    if not isinstance(device, str) or not isinstance(message, str):
        return EventRefusal(Refusal.BAD_EVENT, "'device' and 'message' must be text")
    if not isinstance(code, str) or not code.strip():
        return EventRefusal(Refusal.BAD_EVENT, "'code' is missing: see GET /api/v1/alarms/codes")
    key = code.strip().upper()
    if key not in CATALOGUE:
        return EventRefusal(
            Refusal.UNKNOWN_CODE,
            f"'{code[:64]}' is not an alarm code: see GET /api/v1/alarms/codes",
        )
    try:
        act = AlarmAction(str(action).strip().lower())
    except ValueError:
        return EventRefusal(
            Refusal.BAD_ACTION, f"'action' must be 'raise' or 'clear', not '{str(action)[:32]}'"
        )
    if not isinstance(ts_text, str):
        return EventRefusal(Refusal.BAD_TIMESTAMP, "'ts' is missing: ISO 8601 with a UTC offset")
    try:
        ts = read_instant(ts_text)  # the one instant parser: ISO 8601 and within range
    except InstantError as exc:
        if exc.problem is Problem.MALFORMED:
            return EventRefusal(Refusal.BAD_TIMESTAMP, f"'{ts_text[:64]}' is not an ISO 8601 time")
        return EventRefusal(Refusal.BAD_TIMESTAMP, str(exc))
    if ts.tzinfo is None:
        return EventRefusal(
            Refusal.BAD_TIMESTAMP, f"'{ts_text[:64]}' has no UTC offset (add Z or +01:00)"
        )
    if ts > now + limits.future:
        return EventRefusal(Refusal.IN_FUTURE, f"{ts.isoformat()} is ahead of the platform clock")
    if ts < now - limits.late_window:
        days = limits.late_window.days
        return EventRefusal(Refusal.TOO_OLD, f"{ts.isoformat()} is older than {days} days")
    return AlarmEvent(device.strip(), key, act, ts, message.strip()[: limits.message_chars])


# ---- the life of an occurrence ------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a code on a device (cleared_at None: still active)."""

    raised_at: datetime
    cleared_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None


class Outcome(StrEnum):
    OPENED = "opened"  # a new occurrence begins at the event's time
    CLEARED = "cleared"  # the open occurrence ends at the event's time
    ALREADY_OPEN = "already_open"  # a repeated raise of the open occurrence
    ALREADY_CLEARED = "already_cleared"  # a late copy of an event of a finished occurrence
    NOT_OPEN = "not_open"  # a clear with nothing open to clear (or older than the open raise)

    @property
    def changes(self) -> bool:
        return self in (Outcome.OPENED, Outcome.CLEARED)


def transition(
    event: AlarmEvent, current: Occurrence | None, previous: Occurrence | None = None
) -> Outcome:
    """What ``event`` does, given the device+code's open occurrence (``current``) and its latest
    finished one (``previous``)."""
    if event.action is AlarmAction.RAISE:
        if current is not None:
            return Outcome.ALREADY_OPEN
        if (
            previous is not None
            and previous.cleared_at is not None
            and previous.raised_at <= event.ts <= previous.cleared_at
        ):
            return Outcome.ALREADY_CLEARED
        return Outcome.OPENED
    if current is not None:
        # a clear older than the open raise belongs to an earlier occurrence
        return Outcome.CLEARED if event.ts >= current.raised_at else Outcome.NOT_OPEN
    if previous is not None and previous.cleared_at is not None:
        return Outcome.ALREADY_CLEARED
    return Outcome.NOT_OPEN


def replay(events: Iterable[AlarmEvent]) -> dict[tuple[str, str], list[Occurrence]]:
    """The occurrences a sequence of events makes, per (device, code), oldest first."""
    out: dict[tuple[str, str], list[Occurrence]] = {}
    for e in events:
        seq = out.setdefault((e.device, e.code), [])
        last = seq[-1] if seq else None
        current = last if last is not None and last.active else None
        previous = last if last is not None and not last.active else None
        outcome = transition(e, current, previous)
        if outcome is Outcome.OPENED:
            seq.append(Occurrence(e.ts))
        elif outcome is Outcome.CLEARED:
            assert current is not None
            seq[-1] = Occurrence(current.raised_at, e.ts)
    return out


def count_by_level(levels: Iterable[str]) -> dict[str, int]:
    """{urgent, important, common, prompt, total} from the levels of active alarms."""
    counts = {level.value: 0 for level in Level}
    for level in levels:
        if level in counts:
            counts[level] += 1
    counts["total"] = sum(counts.values())
    return counts


def count_by_severity(severities: Iterable[str]) -> dict[str, int]:
    """{major, minor, warning, total} from the severities of active alarms."""
    counts = {s.value: 0 for s in Severity}
    for s in severities:
        if s in counts:
            counts[s] += 1
    counts["total"] = sum(counts.values())
    return counts
