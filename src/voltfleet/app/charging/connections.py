"""The chargers connected to this process, so the platform can call them (the smart-charging
work sends its charging profiles through ``get``).

One entry per charger device: a charger that connects again (after a network drop the old socket
may linger) replaces its old connection, which is closed. With several voltfleet processes behind
a proxy each holds its own chargers.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from fastapi import FastAPI
from starlette.websockets import WebSocket

from voltfleet.protocols.ocpp.central16 import CentralSystem16

log = logging.getLogger(__name__)


class Connections:
    def __init__(self) -> None:
        self._by_device: dict[str, tuple[CentralSystem16, WebSocket]] = {}

    async def attach(self, device_id: str, cp: CentralSystem16, websocket: WebSocket) -> None:
        old = self._by_device.get(device_id)
        self._by_device[device_id] = (cp, websocket)
        if old is not None:
            log.info("charger %s connected again: closing its previous connection", cp.id)
            with suppress(RuntimeError):  # already closed
                await old[1].close(code=1000, reason="replaced by a new connection")

    def detach(self, device_id: str, cp: CentralSystem16) -> bool:
        """Forget ``cp``; False when a newer connection of the charger has replaced it."""
        current = self._by_device.get(device_id)
        if current is None or current[0] is not cp:
            return False
        del self._by_device[device_id]
        return True

    def get(self, device_id: str) -> CentralSystem16 | None:
        found = self._by_device.get(device_id)
        return found[0] if found else None

    def __len__(self) -> int:
        return len(self._by_device)


def connections(app: FastAPI) -> Connections:
    found = getattr(app.state, "ocpp_connections", None)
    if found is None:
        found = app.state.ocpp_connections = Connections()
    return found
