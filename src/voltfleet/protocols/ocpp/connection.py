"""A Starlette WebSocket as the connection object of the ``ocpp`` library.

Hand-written because ``ocpp`` is transport-agnostic (it wants any object with ``async recv() ->
str`` and ``async send(str)``) and ships no ASGI adapter; the one package that did, ``ocpp-asgi``,
has not been maintained since 2022. These few lines are all it takes.
"""

from __future__ import annotations

from starlette.websockets import WebSocket, WebSocketDisconnect


class StarletteConnection:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._close_after: tuple[int, str] | None = None

    def close_after_next_send(self, code: int, reason: str) -> None:
        """End the connection once the next message (say, the CallError telling the charger
        why) has gone out."""
        self._close_after = (code, reason)

    async def recv(self) -> str:
        """The next message's text; raises WebSocketDisconnect when the charger has gone.

        OCPP-J frames are text; a binary frame is decoded as UTF-8 (an undecodable one becomes
        text the library answers with a CallError, it does not end the connection)."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")

    async def send(self, message: str) -> None:
        await self.websocket.send_text(message)
        if self._close_after is not None:
            code, reason = self._close_after
            await self.websocket.close(code=code, reason=reason)
