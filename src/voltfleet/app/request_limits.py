"""The size of a request body: every request's body is bounded (413 with a sentence) before the
application reads it, by its declared Content-Length and by the bytes that actually arrive (a
chunked upload without one), so no endpoint parses a 35 MB tariff or list.

``BodyLimit`` is an ASGI middleware for the whole application (``Settings.max_request_body_bytes``);
the HTTP ingest endpoint has its own, larger limit and checks the gateway's credential before it
reads a byte (app/telemetry/ingest_guard.py), so it is left to that."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from voltfleet.usecases.errors import TooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OWN_LIMIT = ("/api/v1/ingest",)  # endpoints that bound their body themselves


def too_large_message(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes: send less in one request"


def _declared(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class BodyLimit:
    """Answer 413 to a request whose body exceeds ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = OWN_LIMIT) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in self.exempt:
            await self.app(scope, receive, send)
            return
        declared = _declared(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        received = 0
        refused = False
        started = False

        async def limited() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already: what the application answers is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited, tracked)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"detail": too_large_message(self.limit), "code": "too_large", "errors": []}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def read_limited(request: Request, limit: int) -> bytes:
    """A request's body, refused (413) as soon as it is known to exceed ``limit`` bytes (for
    endpoints that read their body themselves, after their own checks)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise TooLarge(too_large_message(limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(too_large_message(limit))
        chunks.append(chunk)
    return b"".join(chunks)
