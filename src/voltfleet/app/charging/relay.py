"""Charging limits and commands for a charger whose OCPP socket another process holds (issue 18).

With several API processes behind a proxy, a charger is connected to one of them; a command
from the portal may arrive at another, and the power-management cycle may run in a
``voltfleet worker`` that holds no sockets at all. On PostgreSQL the processes reach each other
through the database's LISTEN/NOTIFY (psycopg), with three small tables (``store.relay_models``):

- a process holding sockets has a row in ``ocpp_relay_processes`` with its own notify channel
  and a heartbeat every ``HEARTBEAT_S``; each charger it holds has a row in
  ``ocpp_relay_holders`` (a charger that reconnects elsewhere moves its row; a process whose
  heartbeat is older than ``STALE_S`` is taken as dead, with its chargers);
- an asker writes the call into ``ocpp_relay_calls``, LISTENs on a channel of its own for the
  answer and NOTIFYs the holder's channel with the call's id; the holder makes the OCPP call on
  its socket, writes the answer (or the error and its kind) into the row and NOTIFYs back; the
  asker reads the row and deletes it. No answer within the timeout: ``Unavailable``.

``charger_link.RoutedChargerLink`` is the ``ports.ChargerLink`` the platform uses on
PostgreSQL: a charger connected here is called directly (``OcppChargerLink``), any other through
its holder, and one that no live process holds is "not connected". On SQLite there is one
process and ``charger_link`` stays the local link: nothing changes.

The asker's side opens one short connection per call (any event loop or thread may ask: the
worker runs each power cycle in a fresh loop); the holder's side keeps one listening connection
on the loop that serves its sockets, started with the first charger that connects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy.engine import make_url

from voltfleet.ports import ChargerLink
from voltfleet.usecases.errors import AppError, Invalid, Unavailable

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0  # a holding process beats this often ...
STALE_S = 20.0  # ... and is taken as gone (killed) when its last beat is older than this
FORGET_S = 3600  # the rows of processes silent this long are removed (and calls this old)
SWEEP_EVERY_BEATS = 120  # ... looked for every 10 minutes
CALL_TIMEOUT_S = 40.0  # an OCPP call itself may take 30 s (the library's response timeout)

_BEAT = (
    "insert into ocpp_relay_processes (process_id, channel, started_at, heartbeat_at) "
    "values (%s, %s, now(), now()) on conflict (process_id) do update set heartbeat_at = now()"
)
HOLDER = """
    select h.process_id, p.channel, h.version from ocpp_relay_holders h
    join ocpp_relay_processes p on p.process_id = h.process_id
    where h.{key} = %s and p.heartbeat_at > now() - make_interval(secs => %s)
      and h.process_id <> %s
"""


def conninfo(database_url: str) -> str:
    """psycopg's connection string of a SQLAlchemy URL (``postgresql+psycopg://...``)."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Relay:
    """This process's end of the delivery: records the chargers held here, answers the calls
    other processes relay to them, and relays calls to the chargers held elsewhere."""

    def __init__(self, database_url: str, local: ChargerLink) -> None:
        self.conninfo = conninfo(database_url)
        self.local = local
        self.process_id = uuid.uuid4().hex
        self.channel = f"vf_ocpp_{self.process_id}"
        self._listening: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._work: psycopg.AsyncConnection[Any] | None = None  # the holder's short statements
        self._work_lock: asyncio.Lock | None = None

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        # The relay's rows live for a call: no need to wait for the disk on each commit.
        return await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, options="-c synchronous_commit=off"
        )

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> Any:
        """One short statement on the holder's working connection (kept open, made again when
        it broke); the rows it returns."""
        if self._work_lock is None:
            self._work_lock = asyncio.Lock()
        async with self._work_lock:
            if self._work is None or self._work.closed:
                self._work = await self._connect()
            try:
                cur = await self._work.execute(sql, args)
                return await cur.fetchall() if cur.description else []
            except psycopg.OperationalError:
                self._work = None
                raise

    # ---- the holder's side ---------------------------------------------------------------------

    async def attached(self, device_id: str, serial: str, version: str) -> None:
        """This process now holds ``serial``'s socket (from ``Connections.attach``)."""
        await self._start()
        async with await self._connect() as conn:
            await conn.execute(_BEAT, (self.process_id, self.channel))
            await conn.execute(
                "insert into ocpp_relay_holders (device_id, serial, process_id, version, since) "
                "values (%s, %s, %s, %s, now()) on conflict (device_id) do update set "
                "serial = excluded.serial, process_id = excluded.process_id, "
                "version = excluded.version, since = excluded.since",
                (device_id, serial, self.process_id, version),
            )

    def detached(self, device_id: str) -> None:
        """The socket ended here (a newer connection elsewhere keeps its own row)."""

        async def forget() -> None:
            async with await self._connect() as conn:
                await conn.execute(
                    "delete from ocpp_relay_holders where device_id = %s and process_id = %s",
                    (device_id, self.process_id),
                )

        self._spawn(forget(), f"forgetting {device_id}")

    def _spawn(self, work: Any, what: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.warning("OCPP relay: %s failed", what, exc_info=True)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self) -> None:
        """Listen on this process's channel (once, on the loop of the first socket)."""
        loop = asyncio.get_running_loop()
        if self._listening is None or self._listening.done() or self._loop is not loop:
            old, old_loop = self._listening, self._loop
            if old is not None and old_loop is not None and not old_loop.is_closed():
                old_loop.call_soon_threadsafe(old.cancel)  # tests serve one app on new loops
            self._ready = asyncio.Event()
            self._work, self._work_lock = None, None  # a connection belongs to its loop
            self._loop = loop
            self._listening = loop.create_task(self._listen(), name="ocpp-relay-listen")
        assert self._ready is not None
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _listen(self) -> None:
        while True:
            try:
                async with await self._connect() as conn:
                    await conn.execute(f'LISTEN "{self.channel}"')
                    await conn.execute(_BEAT, (self.process_id, self.channel))
                    await self._forget_the_dead(conn)
                    if self._ready is not None:
                        self._ready.set()
                    beats = 0
                    while True:
                        async for note in conn.notifies(timeout=HEARTBEAT_S):
                            self._spawn(self._answer(note.payload), f"call {note.payload}")
                        await conn.execute(_BEAT, (self.process_id, self.channel))
                        beats += 1
                        if beats % SWEEP_EVERY_BEATS == 0:
                            await self._forget_the_dead(conn)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database restarted: listen again (the row is re-made)
                log.warning(
                    "OCPP relay: listening failed; again in %.0f s", HEARTBEAT_S, exc_info=True
                )
                await asyncio.sleep(HEARTBEAT_S)

    async def _forget_the_dead(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(
            "delete from ocpp_relay_holders where process_id in (select process_id from "
            "ocpp_relay_processes where heartbeat_at < now() - make_interval(secs => %s))",
            (FORGET_S,),
        )
        await conn.execute(
            "delete from ocpp_relay_processes where heartbeat_at < now() - "
            "make_interval(secs => %s)",
            (FORGET_S,),
        )
        # Calls whose asker went away before reading the answer (it deletes what it reads).
        await conn.execute(
            "delete from ocpp_relay_calls where created_at < now() - make_interval(secs => %s)",
            (FORGET_S,),
        )

    async def _answer(self, call_id: str) -> None:
        """Make the call another process asked for, on the socket held here; answer in its row."""
        rows = await self._execute(
            "select serial, method, args, reply_channel from ocpp_relay_calls "
            "where id = %s and process_id = %s and answered_at is null",
            (call_id, self.process_id),
        )
        if not rows:
            return
        serial, method, args, reply_channel = rows[0]
        reply: Mapping[str, Any] | None = None
        error = kind = None
        try:
            reply = await self._call_here(serial, method, args)
        except Invalid as exc:
            error, kind = exc.message, "invalid"
        except AppError as exc:
            error, kind = exc.message, "unavailable"
        except Exception as exc:  # the charger did not answer, or answered with an error
            error, kind = str(exc) or type(exc).__name__, "unavailable"
        await self._execute(
            "with done as (update ocpp_relay_calls set reply = %s, error = %s, error_kind = %s, "
            "answered_at = now() where id = %s returning id) "
            "select pg_notify(%s, %s) from done",
            (
                Json(reply) if reply is not None else None,
                error,
                kind,
                call_id,
                reply_channel,
                call_id,
            ),
        )

    async def _call_here(self, serial: str, method: str, args: dict[str, Any]) -> Mapping[str, Any]:
        if not self.local.connected(serial):
            raise Unavailable(f"charger {serial} is no longer connected to its process")
        if method == "remote":
            return await self.local.remote(serial, args["action"], args["params"])
        if method in ("set_current_limit", "set_fallback_limit"):
            accepted = await getattr(self.local, method)(
                serial, int(args["connector_id"]), float(args["limit_a"]), args.get("phases")
            )
            return {"accepted": bool(accepted)}
        raise Invalid(f"unknown relayed call {method!r}")

    async def stop(self) -> None:
        """Stop listening and forget this process's rows (a clean shutdown)."""
        task, loop = self._listening, self._loop
        self._listening = None
        if task is not None and loop is asyncio.get_running_loop():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        elif task is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        with suppress(Exception):
            async with await self._connect() as conn:
                await conn.execute(
                    "delete from ocpp_relay_holders where process_id = %s", (self.process_id,)
                )
                await conn.execute(
                    "delete from ocpp_relay_processes where process_id = %s", (self.process_id,)
                )

    # ---- the asker's side ----------------------------------------------------------------------

    async def call(
        self, serial: str, method: str, args: dict[str, Any], timeout_s: float = CALL_TIMEOUT_S
    ) -> Mapping[str, Any]:
        """``method`` on the charger through the process holding it, and its answer. Raises
        ``Unavailable`` when no live process holds the charger or its holder did not answer in
        time, ``Invalid`` when the holder refused the command as asked."""
        async with await self._connect() as conn:
            cur = await conn.execute(
                HOLDER.format(key="serial"), (serial, STALE_S, self.process_id)
            )
            holder = await cur.fetchone()
            if holder is None:
                raise Unavailable(f"charger {serial} is not connected to any voltfleet process")
            process_id, channel, _holder = holder
            call_id = uuid.uuid4().hex
            reply_channel = f"vf_ocpp_reply_{call_id}"
            await conn.execute(f'LISTEN "{reply_channel}"')
            await conn.execute(
                "with asked as (insert into ocpp_relay_calls (id, process_id, reply_channel, "
                "serial, method, args, created_at) values (%s, %s, %s, %s, %s, %s, now()) "
                "returning id) select pg_notify(%s, %s) from asked",
                (call_id, process_id, reply_channel, serial, method, Json(args), channel, call_id),
            )
            async for _ in conn.notifies(timeout=timeout_s, stop_after=1):
                pass
            cur = await conn.execute(
                "delete from ocpp_relay_calls where id = %s returning reply, error, error_kind, "
                "answered_at",
                (call_id,),
            )
            row = await cur.fetchone()
        if row is None or row[3] is None:
            raise Unavailable(
                f"charger {serial}: the process holding it did not answer within {timeout_s:.0f} s"
            )
        reply, error, kind = row[0], row[1], row[2]
        if error is not None:
            raise Invalid(error) if kind == "invalid" else Unavailable(error)
        return reply if isinstance(reply, dict) else json.loads(reply)
