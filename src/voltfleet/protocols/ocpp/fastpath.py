# ocpp ships no type information.
# mypy: disable-error-code="misc"
"""The central system's per-message work without the ``ocpp`` library's general-purpose costs.

Measured with py-spy on benchmarks/power_latency.py --ocpp (100 SetChargingProfile at once) and
benchmarks/ocpp_connections.py: per message the library deep-copies the payload
(``serialize_as_dict`` = ``dataclasses.asdict`` + a second pass), converts every key with a
chain of regular expressions or ten ``str.replace``, validates the request and its answer
against the JSON schemas in the default thread pool (two thread hops per message, each waiting
for the GIL behind the event loop), and parses each outgoing call again to learn its id.

Hand-written because the library has no switch for these: ``CallsFast`` is mixed in before the
library's ``ChargePoint`` and replaces

- ``call_built``: a call the platform built from checked values (a charging limit) is written
  as its JSON frame directly, no copy and no schema checks; the answer's keys are converted by
  the memoised key converters below and checked against the result type's fields.
- ``_handle_call``: a charger's call is validated with the library's own cached validator
  (the same errors, so the same CALLERROR codes) on the event loop when the frame is small,
  in the thread pool only when it is large (``INLINE_VALIDATION_CHARS``); the platform's own
  answer is serialised without a deep copy and not validated again (it is built by our
  handlers from typed values). A call with no handler, or any handler with an after-hook,
  goes the library's way unchanged.

The keys are converted by the library's own functions, one key at a time, memoised: the
result is the library's, to the character (tests/ocpp/test_fastpath.py compares them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
from functools import lru_cache
from typing import Any

from ocpp.charge_point import (  # type: ignore[import-untyped]
    camel_to_snake_case,
    remove_nones,
    snake_to_camel_case,
)
from ocpp.messages import (  # type: ignore[import-untyped]
    MessageType,
    _DecimalEncoder,
    _validate_payload,
)

# A charger's call up to this many characters is validated on the event loop (a few hundred
# microseconds); a longer one (a backlog of meter values) in the thread pool.
INLINE_VALIDATION_CHARS = 4096


@lru_cache(maxsize=4096)
def _camel_key(key: str) -> str:
    return str(next(iter(snake_to_camel_case({key: None}))))


@lru_cache(maxsize=4096)
def _snake_key(key: str) -> str:
    return str(next(iter(camel_to_snake_case({key: None}))))


def camel_keys(data: Any) -> Any:
    """``snake_to_camel_case`` of the library, with each key's conversion memoised."""
    if isinstance(data, dict):
        return {_camel_key(k): camel_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [camel_keys(v) for v in data]
    return data


def snake_keys(data: Any) -> Any:
    """``camel_to_snake_case`` of the library, with each key's conversion memoised."""
    if isinstance(data, dict):
        return {_snake_key(k): snake_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [snake_keys(v) for v in data]
    return data


def plain(value: Any) -> Any:
    """A result dataclass as dicts and lists (``serialize_as_dict`` without ``asdict``'s deep
    copy of every leaf: the values are the handler's own and are only read)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def frame(kind: int, unique_id: str, *rest: Any) -> str:
    """An OCPP-J frame as the library's ``to_json`` writes it (its encoder: Decimal too). The
    plain C encoder first: the library's encoder class is only needed for a Decimal, and
    making it costs more than encoding a frame."""
    body = [kind, unique_id, *rest]
    try:
        return json.dumps(body, separators=(",", ":"))
    except TypeError:
        return json.dumps(body, separators=(",", ":"), cls=_DecimalEncoder)


def payload_json(payload: Any) -> str:
    """A call's payload (snake case, dicts or a dataclass) as the JSON the library would put
    into its frame."""
    return json.dumps(camel_keys(remove_nones(plain(payload))), separators=(",", ":"))


@lru_cache(maxsize=256)
def _fields_of(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


@lru_cache(maxsize=256)
def _wants_unique_id(handler: Any) -> bool:
    return "call_unique_id" in inspect.signature(handler).parameters


class CallsFast:
    """Mixed in before the library's ChargePoint (see the module's notes)."""

    async def call_built(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send the call ``action`` with ``payload`` (snake case, built by the platform from
        checked values) and return the charger's answer (snake case, Nones dropped). Raises
        the library's OCPPError for a CallError, TimeoutError, and TypeError for an answer with
        a field its result type does not have (as the library's ``call`` does)."""
        cp: Any = self
        unique_id = str(cp._unique_id_generator())
        message = frame(MessageType.Call, unique_id, action, camel_keys(remove_nones(payload)))
        return await self._exchange(action, unique_id, message)

    async def call_json(self, action: str, payload: str) -> dict[str, Any]:
        """``call_built`` with the payload already written as JSON (``payload_json``: a
        charging limit sent to many chargers is written once)."""
        cp: Any = self
        unique_id = str(cp._unique_id_generator())
        head = json.dumps([MessageType.Call, unique_id, action], separators=(",", ":"))
        return await self._exchange(action, unique_id, f"{head[:-1]},{payload}]")

    async def _exchange(self, action: str, unique_id: str, message: str) -> dict[str, Any]:
        cp: Any = self
        async with cp._call_lock:
            await cp._send(message)
            try:
                response = await cp._get_specific_response(unique_id, cp._response_timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"Waited {cp._response_timeout}s for response on {message}."
                ) from None
        if response.message_type_id == MessageType.CallError:
            cp.logger.warning("Received a CALLError: %s'", response)
            raise response.to_exception()
        data = snake_keys(response.payload)
        if not isinstance(data, dict):
            raise TypeError("the answer is not an object")
        unknown = data.keys() - _fields_of(getattr(cp._call_result, action))
        if unknown:
            raise TypeError(f"unexpected fields {sorted(unknown)[:5]}")
        return {k: v for k, v in data.items() if v is not None}

    async def _get_specific_response(self, unique_id: str, timeout: float) -> Any:
        """The library's, without a task and a timer per call (``asyncio.wait_for`` makes
        both before Python 3.12): the answer to ``unique_id``, others dropped as it does."""
        cp: Any = self
        async with asyncio.timeout(timeout):
            while True:
                response = await cp._response_queue.get()
                if response.unique_id == unique_id:
                    return response
                cp.logger.error("Ignoring response with unknown unique id: %s", response)

    async def route_message(self, raw_msg: str) -> Any:
        self._raw_chars = len(raw_msg)
        return await super().route_message(raw_msg)

    async def _handle_call(self, msg: Any) -> Any:
        cp: Any = self
        handlers = cp.route_map.get(msg.action)
        if not handlers or "_on_action" not in handlers or "_after_action" in handlers:
            return await super()._handle_call(msg)
        if not handlers.get("_skip_schema_validation", False):
            if getattr(self, "_raw_chars", 0) <= INLINE_VALIDATION_CHARS:
                _validate_payload(msg, cp._ocpp_version)
            else:
                await asyncio.get_running_loop().run_in_executor(
                    None, _validate_payload, msg, cp._ocpp_version
                )
        payload = snake_keys(msg.payload)
        handler = handlers["_on_action"]
        try:
            if _wants_unique_id(handler):
                response = handler(**payload, call_unique_id=msg.unique_id)
            else:
                response = handler(**payload)
            if inspect.isawaitable(response):
                response = await response
        except Exception as e:
            cp.logger.exception("Error while handling request '%s'", msg)
            await cp._send(msg.create_call_error(e).to_json())
            return None
        result = camel_keys(remove_nones(plain(response)))
        await cp._send(frame(MessageType.CallResult, msg.unique_id, result))
        return response


__all__ = ["CallsFast", "camel_keys", "frame", "payload_json", "plain", "snake_keys"]
