"""One charger's connection as the ``ocpp`` library's connection object, with the checks a
central system owes itself before a frame reaches the library.

Transport-neutral: the socket is any object with ``async recv() -> str``, ``async send(str)``
and ``async close(code, reason)`` that raises ``Disconnected`` when the charger has gone (the
application adapts its WebSocket to that). ``Channel.serve`` replaces the library's
``ChargePoint.start`` loop; for every frame, in this order:

1. Size: a frame over ``max_frame_bytes`` (64 KiB by default; the longest OCPP 1.6 message a
   charger sends is a few KiB) closes the connection with 1009 (message too big, RFC 6455).
2. Rate: a token bucket per charger (``frames_per_s``, ``burst``; kept by the application across
   reconnections). A frame over the limit waits for its token (the charger is slowed down, not
   refused): frames are read one at a time, so a waiting frame holds the next ones back in the
   socket's buffers, and the charger's own sending blocks. Refusing calls instead would lose
   data: a charger gives a transaction message up after a few attempts (OCPP 1.6's
   TransactionMessageAttempts), and one back-filling what it stored offline is over any useful
   rate. What a compliant charger never sends in bulk (frames refused at 3, results dropped at
   4) also takes from a second bucket (``bad_per_s``, ``bad_burst``); when that is empty the
   charger is flooding, and the connection is closed with 1008 (policy violation) and the reason.
3. Form (OCPP-J 1.6 section 4): a frame that is not JSON, nested deeper than ``max_depth``, not
   an array with a message type, or with elements of the wrong type or number is answered with a
   CALLERROR (FormationViolation; ProtocolError when elements are missing; GenericError for an
   unknown message type). Its unique id is the frame's when one can be read, else "-1".
4. Results: a CALLRESULT or CALLERROR is handed to the library only when it answers a CALL this
   side sent and still awaits; any other is dropped (the library would queue it for ever).
   Results are never answered (OCPP-J: a response gets no response).
5. Calls go to the library, which validates the payload against the OCPP schemas and answers;
   an exception that escapes it becomes a CALLERROR InternalError, never a dead connection.

Frames are logged at DEBUG and clipped to ``log_chars``; refusals once each at INFO, clipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]

from voltfleet.protocols.ocpp.journal import Journal

log = logging.getLogger(__name__)

CALL, CALLRESULT, CALLERROR = 2, 3, 4
UNKNOWN_ID = "-1"  # OCPP-J: the unique id of a CALLERROR for a frame whose id cannot be read
MAX_ID_CHARS = 36  # OCPP-J: a unique id is a string of at most 36 characters
CLOSE_POLICY = 1008  # RFC 6455: policy violation
CLOSE_TOO_BIG = 1009  # RFC 6455: message too big

# The unique id of a frame that does not parse (a huge or broken CALL still tells its id).
_LEADING_ID = re.compile(r'\s*\[\s*([234])\s*,\s*"([^"\\]{1,36})"')


class Disconnected(Exception):
    """The charger's socket is closed (raised by ``Socket.recv`` and ``Socket.send``)."""


class Socket(Protocol):
    async def recv(self) -> str: ...

    async def send(self, message: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class ChargePointLike(Protocol):
    """What ``serve`` uses of the library's ChargePoint."""

    id: str
    logger: Any

    async def route_message(self, raw_msg: str) -> Any: ...


@dataclass(frozen=True)
class FrameLimits:
    max_frame_bytes: int = 64 * 1024
    max_depth: int = 32  # the deepest OCPP 1.6 / 2.0.1 message is well under 16 levels
    frames_per_s: float = 50.0
    burst: int = 2000  # a day of one-minute meter values, sent by a charger back online
    bad_per_s: float = 1.0  # frames refused or dropped (malformed, unsolicited results)
    bad_burst: int = 200
    log_chars: int = 300
    awaited_max: int = 64  # CALLs of ours whose results are awaited, at most
    response_timeout_s: float = 30.0  # the library's default: a later result is unsolicited


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; a frame takes one."""

    def __init__(
        self, rate: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self._monotonic = monotonic
        self._at = monotonic()

    def take(self) -> bool:
        now = self._monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def retry_after_s(self) -> float:
        return max(0.0, (1.0 - self.tokens) / self.rate) if self.rate > 0 else 60.0


def clip(text: object, limit: int) -> str:
    s = str(text)
    return s if len(s) <= limit else f"{s[:limit]}...(+{len(s) - limit} chars)"


class FrameLog:
    """The logger handed to the library: its per-frame INFO lines become DEBUG, every argument is
    clipped, and an OCPP error it logs with a traceback (a charger's bad payload) is one line."""

    def __init__(self, logger: logging.Logger, limit: int) -> None:
        self.logger = logger
        self.limit = limit

    def _log(self, level: int, msg: object, args: tuple[object, ...], exc_info: bool) -> None:
        if self.logger.isEnabledFor(level):
            clipped = tuple(clip(a, self.limit) for a in args)
            self.logger.log(level, clip(msg, self.limit), *clipped, exc_info=exc_info)

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, args, False)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, args, False)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.WARNING, msg, args, False)

    def error(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.WARNING, msg, args, False)

    def exception(self, msg: object, *args: object, **_: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OCPPError):  # a charger's malformed message, answered with a CallError
            self._log(logging.INFO, str(msg) + ": %s", (*args, exc), False)
        else:
            self._log(logging.ERROR, msg, args, True)


def _depth_over(value: object, limit: int) -> bool:
    """True when ``value`` nests arrays/objects deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@dataclass(frozen=True)
class Dialect:
    """The CALLERROR codes of one OCPP-J version for the frames this module refuses, and the
    library's codes that the version spells otherwise (``ocpp`` answers an OCPP 1.6 schema
    violation with 2.0.1's "FormatViolation")."""

    framework: str  # not an RPC frame at all: not JSON, not an array, no readable id
    malformed: str  # an RPC frame whose elements have the wrong type or number
    incomplete: str  # an RPC frame with elements missing
    unknown_type: str  # a message type id other than 2, 3, 4
    renamed: tuple[tuple[str, str], ...] = ()


OCPP16 = Dialect(
    framework="FormationViolation",
    malformed="FormationViolation",
    incomplete="ProtocolError",
    unknown_type="GenericError",
    renamed=(
        ("FormatViolation", "FormationViolation"),
        ("OccurrenceConstraintViolation", "OccurenceConstraintViolation"),
    ),
)
OCPP201 = Dialect(
    framework="RpcFrameworkError",
    malformed="FormatViolation",
    incomplete="ProtocolError",
    unknown_type="MessageTypeNotSupported",
    renamed=(
        ("FormationViolation", "FormatViolation"),
        ("OccurenceConstraintViolation", "OccurrenceConstraintViolation"),
    ),
)


@dataclass(frozen=True)
class Refusal:
    """A frame answered with a CALLERROR (``unique_id`` is None: dropped without an answer).
    ``kind`` is a field of ``Dialect``: which error code answers it."""

    unique_id: str | None
    kind: str
    description: str


def _leading_id(raw: str) -> str | None:
    """The unique id of a CALL whose frame cannot be parsed, if its start shows one."""
    m = _LEADING_ID.match(raw[:128])
    return m.group(2) if m and m.group(1) == str(CALL) else None


def classify(raw: str, max_depth: int) -> tuple[int, str, list[Any]] | Refusal:
    """The frame's (message type, unique id, elements), or why it is refused (OCPP-J 1.6 4.2)."""
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        return Refusal(_leading_id(raw) or UNKNOWN_ID, "framework", "not valid JSON")
    if _depth_over(frame, max_depth):
        return Refusal(
            _leading_id(raw) or UNKNOWN_ID, "framework", f"nested deeper than {max_depth} levels"
        )
    if not isinstance(frame, list) or not frame:
        return Refusal(UNKNOWN_ID, "framework", "an OCPP-J frame is a JSON array [type, id, ...]")
    kind = frame[0]
    if not isinstance(kind, int) or isinstance(kind, bool):
        return Refusal(UNKNOWN_ID, "framework", "the message type id is not a number")
    if len(frame) < 2:
        return Refusal(UNKNOWN_ID, "incomplete", "the frame has no unique id")
    unique_id = frame[1]
    if not isinstance(unique_id, str) or not 0 < len(unique_id) <= MAX_ID_CHARS:
        return Refusal(
            UNKNOWN_ID,
            "framework",
            f"the unique id is not a string of 1 to {MAX_ID_CHARS} characters",
        )
    if kind not in (CALL, CALLRESULT, CALLERROR):
        return Refusal(unique_id, "unknown_type", f"message type {kind} is not an OCPP-J type")
    want = {CALL: 4, CALLRESULT: 3, CALLERROR: 5}[kind]
    if len(frame) != want:
        return Refusal(
            unique_id if kind == CALL else None,
            "incomplete" if len(frame) < want else "malformed",
            f"a message of type {kind} has {want} elements, this one {len(frame)}",
        )
    if kind == CALL:
        if not isinstance(frame[2], str) or not frame[2]:
            return Refusal(unique_id, "malformed", "the action is not a string")
        if not isinstance(frame[3], dict):
            return Refusal(unique_id, "malformed", "the payload is not a JSON object")
    elif kind == CALLRESULT and not isinstance(frame[2], dict):
        return Refusal(None, "malformed", "the result payload is not an object")
    elif kind == CALLERROR and not (
        isinstance(frame[2], str) and isinstance(frame[3], str) and isinstance(frame[4], dict)
    ):
        return Refusal(None, "malformed", "a CALLERROR is [4, id, code, text, {}]")
    return kind, unique_id, frame


def call_error(unique_id: str, code: str, description: str, details: object = None) -> str:
    return json.dumps(
        [CALLERROR, unique_id, code, description, details or {}], separators=(",", ":")
    )


@dataclass
class Counts:
    """What a channel did with the frames it received (for logs and tests)."""

    received: int = 0
    calls: int = 0
    results: int = 0
    refused: int = 0
    dropped: int = 0
    rate_limited: int = 0


class Channel:
    """A charger's socket as the connection of the ``ocpp`` library's ChargePoint."""

    def __init__(
        self,
        socket: Socket,
        limits: FrameLimits | None = None,
        bucket: TokenBucket | None = None,
        logger: logging.Logger = log,
        dialect: Dialect = OCPP16,
        journal: Journal | None = None,
    ) -> None:
        self.socket = socket
        self.journal = journal  # the charger's message log, when kept
        self.dialect = dialect
        self.limits = limits or FrameLimits()
        self.bucket = bucket or TokenBucket(self.limits.frames_per_s, self.limits.burst)
        self.log = FrameLog(logger, self.limits.log_chars)
        self.counts = Counts()
        self.closed: tuple[int, str] | None = None
        self._awaited: dict[str, float] = {}  # our CALLs' unique ids -> when to stop waiting
        self._bad = TokenBucket(self.limits.bad_per_s, self.limits.bad_burst)
        self._over = False
        self._close_after: tuple[int, str] | None = None
        self._name = "?"

    # ---- what the library calls ----------------------------------------------------------------

    async def recv(self) -> str:
        return await self.socket.recv()

    async def send(self, message: str) -> None:
        if message.startswith(f"[{CALL},"):
            self._await(message)
        elif message.startswith(f"[{CALLERROR},"):
            message = self._outgoing_error(message)
        if self.journal is not None:
            self.journal.add("out", message)
        await self.socket.send(message)
        if self._close_after is not None:
            code, reason = self._close_after
            await self.close(code, reason)

    # ---- what the application calls ------------------------------------------------------------

    def close_after_next_send(self, code: int, reason: str) -> None:
        """End the connection once the next message (say, the CallError telling the charger
        why) has gone out."""
        self._close_after = (code, reason)

    async def close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = (code, reason)
            log.info("OCPP: closing charger %s: %s (%d)", self._name, reason, code)
            with suppress(Disconnected):
                await self.socket.close(code, reason[:120])

    async def serve(self, cp: ChargePointLike) -> None:
        """Read and route the charger's frames until it goes (``Disconnected``) or is closed."""
        self._name = clip(cp.id, 64)
        cp.logger = self.log
        while self.closed is None:
            raw = await self.socket.recv()
            self.counts.received += 1
            if self.journal is not None:
                self.journal.add("in", raw)
            await self._frame(cp, raw)

    # ---- one frame -----------------------------------------------------------------------------

    async def _frame(self, cp: ChargePointLike, raw: str) -> None:
        limits = self.limits
        if len(raw) > limits.max_frame_bytes or len(raw.encode()) > limits.max_frame_bytes:
            self.counts.refused += 1
            await self.close(CLOSE_TOO_BIG, f"frame over {limits.max_frame_bytes} bytes")
            return
        await self._wait_for_token()
        self.log.debug("%s: receive %s", self._name, raw)
        verdict = classify(raw, limits.max_depth)
        if isinstance(verdict, Refusal):
            await self._refuse(verdict, raw)
            return
        kind, unique_id, _ = verdict
        if kind != CALL:
            if self._awaited.pop(unique_id, None) is None:
                self.counts.dropped += 1
                self.log.debug("%s: dropped an unsolicited result %s", self._name, unique_id)
                await self._bad_frame()
                return
            self.counts.results += 1
            await cp.route_message(raw)
            return
        self.counts.calls += 1
        try:
            await cp.route_message(raw)
        except Disconnected:
            raise
        except Exception:
            log.exception("OCPP: charger %s: a call escaped the library", self._name)
            await self.send(call_error(unique_id, "InternalError", "An unexpected error occurred."))

    async def _wait_for_token(self) -> None:
        if self.bucket.take():
            self._over = False
            return
        self.counts.rate_limited += 1
        if not self._over:
            self._over = True
            log.info(
                "OCPP: charger %s is over %g frames a second: slowed down",
                self._name,
                self.limits.frames_per_s,
            )
        while not self.bucket.take():
            await asyncio.sleep(max(self.bucket.retry_after_s(), 0.001))

    async def _bad_frame(self) -> None:
        """Count a frame refused or dropped; close the connection of a charger flooding them."""
        if not self._bad.take():
            await self.close(
                CLOSE_POLICY,
                f"flooding: over {self.limits.bad_burst} malformed or unsolicited frames",
            )

    async def _refuse(self, refusal: Refusal, raw: str) -> None:
        code: str = getattr(self.dialect, refusal.kind)
        self.log._log(
            logging.INFO,
            "OCPP: charger %s: %s (%s): %s",
            (self._name, code, refusal.description, raw),
            False,
        )
        if refusal.unique_id is None:
            self.counts.dropped += 1
        else:
            self.counts.refused += 1
            await self.send(call_error(refusal.unique_id, code, refusal.description))
        await self._bad_frame()

    def _await(self, message: str) -> None:
        m = _LEADING_ID.match(message[:128])  # our own frame: its id is at its start
        if m is not None:
            unique_id: object = m.group(2)
        else:
            try:
                unique_id = json.loads(message)[1]
            except (ValueError, IndexError, TypeError):
                return
        now = time.monotonic()
        for key, until in list(self._awaited.items()):
            if until < now:
                del self._awaited[key]
        while len(self._awaited) >= self.limits.awaited_max:
            del self._awaited[next(iter(self._awaited))]
        self._awaited[str(unique_id)] = now + self.limits.response_timeout_s

    def _outgoing_error(self, message: str) -> str:
        """A CallError of the library's in this version's spelling, without the charger's frame
        (the library puts the whole offending message into its details): the cause, clipped."""
        renamed = dict(self.dialect.renamed)
        if len(message) <= 2 * self.limits.log_chars and not any(k in message for k in renamed):
            return message
        try:
            _, unique_id, code, description, details = json.loads(message)
            cause = details.get("cause") if isinstance(details, dict) else None
        except (ValueError, TypeError, AttributeError):
            return message
        clipped = {"cause": clip(cause, self.limits.log_chars)} if cause else {}
        code = renamed.get(str(code), str(code))
        return call_error(str(unique_id), code, clip(description, 200), clipped)
