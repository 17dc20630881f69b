"""A Starlette WebSocket as the socket of ``protocols.ocpp.connection.Channel``.

Hand-written because ``ocpp`` is transport-agnostic (it wants any object with ``async recv() ->
str`` and ``async send(str)``) and ships no ASGI adapter; the one package that did, ``ocpp-asgi``,
has not been maintained since 2022. These few lines are all it takes.
"""

from __future__ import annotations

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from voltfleet.protocols.ocpp.connection import Disconnected


class StarletteSocket:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def recv(self) -> str:
        """The next message's text; raises Disconnected when the charger has gone.

        OCPP-J frames are text; a binary frame is decoded as UTF-8 (an undecodable one becomes
        text that is answered with a CallError, it does not end the connection)."""
        try:
            message = await self.websocket.receive()
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise Disconnected(repr(exc)) from None
        if message["type"] == "websocket.disconnect":
            raise Disconnected(f"closed by the charger ({message.get('code', 1000)})")
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")

    async def send(self, message: str) -> None:
        try:
            await self.websocket.send_text(message)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise Disconnected(repr(exc)) from None

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state is WebSocketState.DISCONNECTED:
            return
        try:
            await self.websocket.close(code=code, reason=reason)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise Disconnected(repr(exc)) from None
