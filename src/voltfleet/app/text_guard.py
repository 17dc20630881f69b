"""No NUL character (0x00) in the text of a request: PostgreSQL cannot store one in a text column
(psycopg refuses the statement, which was a 500) and SQLite stores it silently, so the same
request behaved differently per database. ``NulText`` answers 422 with a sentence before the
application runs, for the query string and for JSON and form bodies; binary uploads (multipart)
and the ingest endpoint (which bounds and parses its own body; its records are quarantined) are
left alone. ``app.errors`` maps a NUL that still reaches PostgreSQL to the same 422.

Written by hand: Starlette and pydantic have no such check, and a validator on every schema
would be easy to forget on the next one."""

from __future__ import annotations

import json
import re

from voltfleet.app.request_limits import ASGIApp, Message, Receive, Scope, Send

NUL_MESSAGE = "text must not contain the NUL character (0x00): remove it and send again"
# A JSON string escape \u0000 (raw NUL bytes are not valid JSON): preceded by an even number of
# backslashes, so a literal backslash followed by "u0000" is not mistaken for it.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_SCANNED = (b"application/json", b"application/x-www-form-urlencoded")
EXEMPT = ("/api/v1/ingest",)


def has_nul_query(query: bytes) -> bool:
    return b"\x00" in query or b"%00" in query.lower()


def has_nul_body(content_type: bytes, body: bytes) -> bool:
    if b"\x00" in body:
        return True
    if content_type.startswith(b"application/json"):
        return _JSON_NUL.search(body) is not None
    return b"%00" in body.lower()


def _content_type(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bytes(value).lower().strip()
    return b""


class NulText:
    """Answer 422 to a request whose query or JSON/form body carries a NUL character."""

    def __init__(self, app: ASGIApp, exempt: tuple[str, ...] = EXEMPT) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in self.exempt:
            await self.app(scope, receive, send)
            return
        if has_nul_query(scope.get("query_string", b"")):
            await _refuse(send)
            return
        content_type = _content_type(scope)
        if not content_type.startswith(_SCANNED):
            await self.app(scope, receive, send)
            return
        # Bodies of these types are small (BodyLimit bounds them first): read, check, replay.
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if has_nul_body(content_type, bytes(body)):
            await _refuse(send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send) -> None:
    body = json.dumps(
        {
            "detail": NUL_MESSAGE,
            "code": "invalid",
            "errors": [{"field": "", "message": NUL_MESSAGE}],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
