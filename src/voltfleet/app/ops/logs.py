"""Logs a machine can read: a request id on every line written while a request is served, and
JSON lines when ``VOLTFLEET_LOG_FORMAT=json`` (one object per line: time, level, logger,
message, request_id, and the traceback when there is one).

The request id is the caller's ``X-Request-ID`` when it is a short token (a proxy's, so one id
follows a request through nginx and the API), else a new one; it is sent back in the response's
``X-Request-ID``. It lives in a context variable, so lines logged from the thread that runs a
synchronous endpoint carry it too (Starlette copies the context into its thread pool).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID: ContextVar[str] = ContextVar("voltfleet_request_id", default="")
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HEADER = b"x-request-id"


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            given = value.decode("latin-1").strip()
            if _TOKEN.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestId:
    """ASGI middleware: the request's id in ``REQUEST_ID`` while it is served, and in the
    response's ``X-Request-ID`` (HTTP; a WebSocket gets it in its logs only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        token = REQUEST_ID.set(rid)

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((HEADER, rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, tagged if scope["type"] == "http" else send)
        finally:
            REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or "") on every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(log_format: str, level: int = logging.INFO) -> None:
    """The root logger's one handler: JSON lines or text, with the request id either way."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
