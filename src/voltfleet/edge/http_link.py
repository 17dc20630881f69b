"""The edge agent over HTTP, for a gateway that reaches the platform but no broker: readings
from the outbox go to ``POST /api/v1/ingest`` (a row leaves once the platform answered 2xx: the
batch is committed), commands are fetched from ``GET /api/v1/gateway/commands`` every
``command_poll_s`` and answered on ``POST /api/v1/gateway/commands/{id}/reply``, the inventory
goes to ``POST /api/v1/gateway/inventory``. Always ``Authorization: Bearer <gateway token>``.

A batch the platform refuses as a whole (4xx other than 401/408/429) is logged and dropped: it
would be refused again forever. Readings it quarantines are in its quarantine, with reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from voltfleet.edge.outbox import Outbox

log = logging.getLogger(__name__)

CommandHandler = Callable[[str, Any], Awaitable[dict[str, Any]]]
RETRY = frozenset({401, 408, 425, 429})


class HttpLink:
    def __init__(
        self,
        url: str,
        token: str,
        outbox: Outbox,
        on_command: CommandHandler,
        *,
        batch_readings: int = 2000,
        command_poll_s: float = 5.0,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.outbox = outbox
        self.on_command = on_command
        self.batch_readings = batch_readings
        self.command_poll_s = command_poll_s
        self.timeout_s = timeout_s
        self.messages = 0
        self._wake = asyncio.Event()
        self._inventory: dict[str, Any] | None = None
        self._failing = False

    def wake(self) -> None:
        self._wake.set()

    def inventory(self, body: dict[str, Any]) -> None:
        self._inventory = body
        self._wake.set()

    async def run(self) -> None:
        async with httpx.AsyncClient(
            base_url=self.url, headers=self.headers, timeout=self.timeout_s
        ) as client:
            tasks = [
                asyncio.create_task(self._drain(client)),
                asyncio.create_task(self._commands(client)),
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                for t in tasks:
                    t.cancel()
                for t in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await t

    def _failed(self, what: str, exc: object) -> None:
        if not self._failing:
            self._failing = True
            log.warning("edge: %s failed (%s); retrying with backoff", what, exc)

    def _ok(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("edge: the platform answers again")

    async def _post(self, client: httpx.AsyncClient, path: str, content: bytes) -> bool:
        """True once the platform took it (2xx) or refused it for good (logged)."""
        backoff = 0.5
        while True:
            try:
                r = await client.post(
                    path, content=content, headers={"Content-Type": "application/json"}
                )
            except httpx.HTTPError as exc:
                self._failed(f"POST {path}", exc)
            else:
                if r.is_success:
                    self._ok()
                    return True
                if 400 <= r.status_code < 500 and r.status_code not in RETRY:
                    log.error("edge: POST %s refused (%s): %s", path, r.status_code, r.text[:300])
                    return True
                self._failed(f"POST {path}", f"HTTP {r.status_code}")
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, 30.0)

    async def _drain(self, client: httpx.AsyncClient) -> None:
        while True:
            if self._inventory is not None:
                body = self._inventory
                await self._post(client, "/api/v1/gateway/inventory", json.dumps(body).encode())
                if body is self._inventory:
                    self._inventory = None
            seqs, readings, n = await asyncio.to_thread(self.outbox.peek, self.batch_readings)
            if not seqs:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            await self._post(client, "/api/v1/ingest", b'{"readings":' + readings.encode() + b"}")
            await asyncio.to_thread(self.outbox.done, seqs, n)
            self.messages += 1

    async def _commands(self, client: httpx.AsyncClient) -> None:
        while True:
            await asyncio.sleep(self.command_poll_s)
            try:
                r = await client.get("/api/v1/gateway/commands")
                if not r.is_success:
                    self._failed("GET /api/v1/gateway/commands", f"HTTP {r.status_code}")
                    continue
                items = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                self._failed("GET /api/v1/gateway/commands", exc)
                continue
            items = items.get("commands", []) if isinstance(items, dict) else items
            for body in items if isinstance(items, list) else []:
                command_id = str(body.get("id", "")) if isinstance(body, dict) else ""
                if not command_id:
                    continue
                reply = await self.on_command(command_id, body)
                await self._post(
                    client,
                    f"/api/v1/gateway/commands/{command_id}/reply",
                    json.dumps(reply).encode(),
                )
