"""Commands: queue one for a device (checked by domain.commands), hand it to the gateway above
the device (pushed through a ``ports.GatewayLink`` while the gateway is connected, or handed out
when it polls over HTTP), record its reply, and let time fail or expire what got no answer.

Every door (HTTP endpoints, portal pages, the MQTT bridge, the battery plan, the command-sweeper
job) calls these functions. Time comes in as ``now``; persistence through ``CommandRepository``
(implemented in store/command_repository.py), inside the caller's transaction. Never commits.

A command is applied at most once: the gateway echoes its id, and a second reply to a command
that is already final changes nothing (it is logged and reported as ignored). A gateway that is
offline when the command is queued gets it when it comes back (MQTT or its next poll), unless the
command expired meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from voltfleet.domain import commands as dc
from voltfleet.domain.commands import CommandError, CommandRequest, CommandState
from voltfleet.domain.registers import RegisterMap
from voltfleet.ports import GatewayLink
from voltfleet.usecases.errors import Conflict, NotFound, Rejected

log = logging.getLogger("voltfleet.commands")

HTTP, MQTT = "http", "mqtt"
MAX_PER_POLL = 50  # commands handed to a gateway in one answer
SWEEP_BATCH = 1000  # rows changed by one sweep at most


class CommandLike(Protocol):
    """What the use case reads of a stored command (store.command_models.Command fits)."""

    @property
    def id(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def site_id(self) -> str: ...
    @property
    def gateway_id(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def params(self) -> Any: ...
    @property
    def state(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def created_by(self) -> str | None: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def sent_via(self) -> str | None: ...
    @property
    def replied_at(self) -> datetime | None: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class Target:
    """A device a command is for, and the gateway its commands go through (None: no gateway
    above it, so nothing can reach it)."""

    device_id: str
    site_id: str
    kind: str
    serial: str
    model: str
    rated_power_w: float | None
    gateway_id: str | None


@dataclass(frozen=True)
class NewCommand:
    """A checked command ready to be stored."""

    target: Target
    request: CommandRequest
    state: CommandState
    source: str
    created_at: datetime
    created_by: str | None
    not_before: datetime
    expires_at: datetime


class CommandRepository(Protocol):
    """The commands' persistence, inside the caller's transaction."""

    def target(self, device_id: str) -> Target | None:
        """The live device with this id and the gateway above it."""
        ...

    def add(self, new: NewCommand) -> CommandLike:
        """Store a new command (flushed: it has its id)."""
        ...

    def get(self, command_id: str, gateway_id: str | None = None) -> CommandLike | None:
        """The command with this id (of this gateway, when given)."""
        ...

    def expiring(
        self,
        now: datetime,
        *,
        device_id: str | None = None,
        gateway_id: str | None = None,
        command_id: str | None = None,
        limit: int = SWEEP_BATCH,
    ) -> Sequence[CommandLike]:
        """Queued or sent commands whose ``expires_at`` is at or before ``now``."""
        ...

    def save(
        self,
        command: CommandLike,
        status: dc.Status,
        *,
        result: Mapping[str, Any] | None = None,
        sent_via: str | None = None,
    ) -> None:
        """Store a command's new status (and the reply's details, the way it was sent)."""
        ...

    def due(
        self, gateway_id: str, now: datetime, *, resend_via: str | None, limit: int
    ) -> Sequence[CommandLike]:
        """The gateway's queued commands due at ``now`` and not expired (with ``resend_via``,
        also those sent that way and unanswered), oldest first."""
        ...

    def mark_sent(self, command_id: str, now: datetime, via: str) -> bool:
        """queued -> sent in one conditional step: False when another deliverer took it."""
        ...

    def unsend(self, command_ids: Sequence[str]) -> None:
        """sent -> queued for commands whose sending failed."""
        ...

    def serial_of(self, device_id: str) -> str:
        """A device's serial number ("" when it is gone)."""
        ...

    def gateways(self, serials: Iterable[str]) -> Sequence[tuple[str, str]]:
        """(id, serial) of the live gateways with these serial numbers."""
        ...

    def audit(
        self, command: CommandLike, action: str, detail: Mapping[str, Any], now: datetime
    ) -> None:
        """An audit-log row about the command (its creator is the actor)."""
        ...


def rejected(exc: CommandError) -> Rejected:
    errors = [{"field": exc.field, "message": str(exc)}]
    return Rejected(str(exc), errors, code="invalid_command")


def limits_of(target: Target) -> dc.DeviceLimits:
    rated = target.rated_power_w
    return dc.DeviceLimits(target.kind, rated if rated and rated > 0 else dc.DEFAULT_MAX_POWER_W)


def target_of(repo: CommandRepository, device_id: str) -> Target:
    target = repo.target(device_id)
    if target is None:
        raise NotFound("device")
    return target


def check(
    target: Target,
    kind: str,
    params: Any,
    *,
    now: datetime,
    ttl: timedelta,
    not_before: datetime | None,
    registers: RegisterMap | None = None,
) -> CommandRequest:
    """The command checked against the device (``Rejected`` with the field at fault)."""
    try:
        dc.check_ttl(ttl)
        request = dc.validate(kind, params, limits_of(target), registers)
    except CommandError as exc:
        raise rejected(exc) from exc
    if not_before is not None and not_before > now + dc.MAX_TTL:
        raise rejected(CommandError("not_before may be at most 2 days ahead", "not_before"))
    return request


def queue_checked(
    repo: CommandRepository,
    target: Target,
    request: CommandRequest,
    *,
    now: datetime,
    not_before: datetime | None = None,
    ttl: timedelta = dc.DEFAULT_TTL,
    source: str = "user",
    created_by: str | None = None,
) -> CommandLike:
    """Store an already checked command for ``target``, queued for its gateway."""
    if target.gateway_id is None:
        raise Conflict(
            "the device has no gateway above it, so a command cannot reach it: bind it below a "
            "gateway first"
        )
    start = not_before or now
    return repo.add(
        NewCommand(
            target,
            request,
            CommandState.QUEUED,
            source,
            now,
            created_by,
            start,
            start + ttl,
        )
    )


def queue(
    repo: CommandRepository,
    device_id: str,
    kind: str,
    params: Any,
    *,
    now: datetime,
    ttl: timedelta = dc.DEFAULT_TTL,
    not_before: datetime | None = None,
    source: str = "user",
    created_by: str | None = None,
    registers: RegisterMap | None = None,
) -> CommandLike:
    """Check and queue a command for a device (no permission check: the caller did it). The
    gateway gets it when it is connected or polls next, until ``not_before + ttl``."""
    target = target_of(repo, device_id)
    request = check(
        target, kind, params, now=now, ttl=ttl, not_before=not_before, registers=registers
    )
    return queue_checked(
        repo,
        target,
        request,
        now=now,
        not_before=not_before,
        ttl=ttl,
        source=source,
        created_by=created_by,
    )


def status_of(c: CommandLike) -> dc.Status:
    return dc.Status(
        CommandState(c.state), c.not_before, c.expires_at, c.sent_at, c.replied_at, c.message
    )


def sweep(
    repo: CommandRepository,
    now: datetime,
    *,
    device_id: str | None = None,
    gateway_id: str | None = None,
    command_id: str | None = None,
) -> int:
    """Apply time to pending commands (domain.commands.swept): queued past expiry -> expired,
    sent without a reply past the reply deadline -> failed. Returns how many changed."""
    changed = 0
    for c in repo.expiring(now, device_id=device_id, gateway_id=gateway_id, command_id=command_id):
        before = status_of(c)
        after = dc.swept(before, now)
        if after != before:
            repo.save(c, after)
            changed += 1
    return changed


@dataclass(frozen=True)
class Delivery:
    """A command handed to its gateway: the command and the serial of its device."""

    command: CommandLike
    device_serial: str


def claim(
    repo: CommandRepository, gateway_id: str, now: datetime, via: str, *, resend: bool = False
) -> list[Delivery]:
    """The commands for a gateway that are due now, marked sent (``via`` http or mqtt), oldest
    first. With ``resend``, commands already sent the same way and not yet answered (nor
    expired) are handed out again: a gateway whose answer got lost does not lose its commands,
    and recognises repeats by id."""
    sweep(repo, now, gateway_id=gateway_id)
    out: list[Delivery] = []
    serials: dict[str, str] = {}
    for c in repo.due(gateway_id, now, resend_via=via if resend else None, limit=MAX_PER_POLL):
        if c.state == CommandState.QUEUED.value:
            dc.sent(status_of(c), now)  # checks the transition
            if not repo.mark_sent(c.id, now, via):
                continue  # another deliverer took it
        if c.device_id not in serials:
            serials[c.device_id] = repo.serial_of(c.device_id)
        out.append(Delivery(c, serials[c.device_id]))
    return out


def claim_for_serials(
    repo: CommandRepository, serials: set[str], now: datetime, via: str = MQTT
) -> list[tuple[str, Delivery]]:
    """The due commands of the gateways with these serial numbers (those connected to the
    broker), marked sent: (gateway serial, delivery) pairs, oldest first per gateway."""
    if not serials:
        return []
    out: list[tuple[str, Delivery]] = []
    for gateway_id, serial in repo.gateways(sorted(serials)):
        out += [(serial, d) for d in claim(repo, gateway_id, now, via)]
    return out


def unclaim(repo: CommandRepository, command_ids: Sequence[str]) -> None:
    """Put commands whose sending failed back in the queue."""
    if command_ids:
        repo.unsend(command_ids)


async def push(link: GatewayLink, due: Sequence[tuple[str, str, Mapping[str, Any]]]) -> list[str]:
    """Hand claimed commands ``(gateway serial, command id, body)`` to their gateways through
    the link; the ids of those that could not be sent (the gateway is gone, the link failed),
    which the caller puts back with ``unclaim``."""
    failed: list[str] = []
    for serial, command_id, body in due:
        if not link.reachable(serial):
            failed.append(command_id)
            continue
        try:
            await link.deliver(serial, command_id, body)
        except Exception as exc:  # any link failure: the command goes back to the queue
            log.warning("command %s not delivered to %s: %r", command_id, serial, exc)
            failed.append(command_id)
    return failed


class ReplyOutcome(StrEnum):
    RECORDED = "recorded"  # the reply changed the command's state
    REPEAT = "repeat"  # the same reply again: nothing changed
    IGNORED = "ignored"  # a different reply to a final command: nothing changed (logged)


@dataclass(frozen=True)
class Reply:
    command: CommandLike
    outcome: ReplyOutcome
    reason: str = ""


def record_reply(
    repo: CommandRepository, gateway_id: str, command_id: str, body: Any, now: datetime
) -> Reply:
    """The gateway's answer to one of *its* commands (another gateway's: ``NotFound``; an
    unreadable body: ``Rejected``). A command is applied at most once: the same reply again is
    a ``REPEAT``, another reply to a final command (or one past the reply deadline) is
    ``IGNORED`` and logged; neither changes anything. The reply to a ``register_write`` is
    audited with the values before and after (read back by the gateway)."""
    c = repo.get(command_id, gateway_id)
    if c is None:
        raise NotFound("command")
    try:
        ok, message, details = dc.parse_reply(body)
    except CommandError as exc:
        raise rejected(exc) from exc
    sweep(repo, now, command_id=c.id)
    want = CommandState.ACKNOWLEDGED if ok else CommandState.FAILED
    if c.state == want.value and c.replied_at is not None:
        return Reply(c, ReplyOutcome.REPEAT)
    try:
        after = dc.replied(status_of(c), ok, message, now)
    except dc.TransitionError as exc:
        reason = f"{exc}: the reply came too late or twice"
        log.warning("reply %s to command %s ignored: %s", want.value, c.id, reason)
        return Reply(c, ReplyOutcome.IGNORED, reason)
    repo.save(c, after, result=details or None, sent_via=c.sent_via or HTTP)
    if c.kind == dc.CommandKind.REGISTER_WRITE.value:
        detail = {
            "device_id": c.device_id,
            "params": dict(c.params),
            "status": want.value,
            "message": message,
            "before": details.get("before"),
            "after": details.get("after"),
        }
        repo.audit(c, "register.written" if ok else "register.write_failed", detail, now)
    return Reply(c, ReplyOutcome.RECORDED)
