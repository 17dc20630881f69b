"""What every OCPP version's central system shares when it calls a charger: sending a call and
turning its answer into a ``Reply`` (a CallError or no answer into ``CommandError``), and
reading a command's parameters in platform words.

The platform's command names (``ACTIONS``) are the same for both versions; a command that one
version does not have (``get_configuration`` in 2.0.1, ``get_variables`` in 1.6) is refused with
a ``CommandError`` naming the version's equivalent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Mapping
from decimal import Decimal
from typing import Any

from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]

from voltfleet.domain.charging_limits import (
    ChargingLimit,
    LimitError,
    LimitPeriod,
    Purpose,
    check_limit,
)
from voltfleet.protocols.ocpp.fastpath import CallsFast, payload_json, plain
from voltfleet.protocols.ocpp.messages import CommandError, Reply

ACTIONS: tuple[str, ...] = (
    "set_charging_profile",
    "clear_charging_profile",
    "get_composite_schedule",
    "remote_start",
    "remote_stop",
    "reset",
    "unlock",
    "change_availability",
    "get_configuration",  # 1.6
    "change_configuration",  # 1.6
    "get_variables",  # 2.0.1
    "set_variables",  # 2.0.1
    "trigger_message",
    "update_firmware",
)

# The profile ids the platform uses, one per purpose (a new limit of a purpose replaces the old
# one on the charger: OCPP replaces a profile with the same id).
PROFILE_IDS: Mapping[Purpose, int] = {
    Purpose.STATION_MAX: 1,
    Purpose.TX_DEFAULT: 2,
    Purpose.TX: 3,
}


def _plain(value: Any) -> Any:
    """JSON values as JSON numbers: the library reads a frame's numbers as Decimal."""
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and "." not in str(value)
            else float(value)
        )
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def as_dict(result: Any) -> dict[str, Any]:
    """A call result (the library's dataclass, or a mapping) as plain JSON data, without the
    fields the charger left out."""
    if result is None:
        return {}
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        data = dataclasses.asdict(result)
    else:
        data = dict(result)
    return {k: _plain(v) for k, v in data.items() if v is not None}


# A limit's call as JSON, by what makes it (the version, the connector, the limit): a location's
# chargers mostly get the same few limits, so each is written once (bounded: cleared when full).
_WRITTEN: dict[Hashable, tuple[str, str]] = {}
WRITTEN_MAX = 4096


def written(key: Hashable, build: Callable[[], Any]) -> tuple[str, str]:
    """(action, payload JSON) of the call ``build()`` makes, kept under ``key``."""
    found = _WRITTEN.get(key)
    if found is None:
        if len(_WRITTEN) >= WRITTEN_MAX:
            _WRITTEN.clear()
        payload = build()
        found = _WRITTEN[key] = (type(payload).__name__, payload_json(payload))
    return found


async def send_built(
    cp: Any, key: Hashable, build: Callable[[], Any], statuses: frozenset[str]
) -> Reply:
    """``send`` of a call the platform builds from checked values that is the same whenever
    ``key`` is (a charging limit): on the fast path its JSON is written once (``written``)."""
    try:
        hash(key)
    except TypeError:  # a limit built with lists: not kept
        return await send(cp, build(), statuses)
    if not isinstance(cp, CallsFast):
        return await send(cp, build(), statuses)
    action, body = written(key, build)
    return await _answer(cp.call_json(action, body), statuses)


async def _answer(calling: Awaitable[Any], statuses: frozenset[str] | None) -> Reply:
    try:
        result = await calling
    except OCPPError as exc:  # the charger's CallError, or our payload against the schema
        raise CommandError(f"{type(exc).__name__}: {exc.description}") from None
    except TimeoutError:
        raise CommandError("the charger did not answer in time") from None
    except TypeError:  # unchecked, an answer with fields its type does not have
        raise CommandError("the charger's answer does not fit the message's schema") from None
    data = as_dict(result)
    status = str(data.get("status", "Accepted"))
    if statuses is not None and status not in statuses:
        raise CommandError(f"the charger answered with an unknown status {status[:40]!r}")
    return Reply(status, data)


async def send(cp: Any, payload: Any, statuses: frozenset[str] | None = None) -> Reply:
    """``payload`` sent as a call of the library's ChargePoint ``cp``; the charger's answer.

    ``statuses``: a message the platform builds itself from checked values (a charging limit,
    ``domain.charging_limits.check_limit``) goes without the library's JSON-schema checks of
    the call and of its answer, and the answer's status must be one of these. Those checks run
    in the default thread pool, two hops per message: with the limits of a whole location sent
    at once they were most of the time to the chargers (benchmarks/power_latency.py --ocpp)."""
    if statuses is None:
        calling = cp.call(payload, suppress=False)
    elif isinstance(cp, CallsFast):  # written as its frame directly (protocols.ocpp.fastpath)
        calling = cp.call_built(type(payload).__name__, plain(payload))
    else:
        calling = cp.call(payload, suppress=False, skip_schema_validation=True)
    return await _answer(calling, statuses)


def integer(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if value is None:
        raise CommandError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise CommandError(f"{name} must be a whole number")
    return int(value)


def optional_int(params: Mapping[str, Any], name: str) -> int | None:
    return integer(params, name) if params.get(name) is not None else None


def text(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = params.get(name, default)
    if not isinstance(value, str) or not value:
        raise CommandError(f"{name} is required (text)")
    return value


def firmware_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """An ``update_firmware`` command's parameters: ``location`` (the file's URL),
    ``retrieve_date`` (ISO 8601 with an offset), optional ``retries``, ``retry_interval`` (s);
    for 2.0.1 also ``request_id``, and ``signature`` / ``signing_certificate`` when the release
    is signed."""
    out: dict[str, Any] = {
        "location": text(params, "location"),
        "retrieve_date": text(params, "retrieve_date"),
        "retries": optional_int(params, "retries"),
        "retry_interval": optional_int(params, "retry_interval"),
    }
    if len(out["location"]) > 512:
        raise CommandError("location is at most 512 characters (OCPP)")
    return out


def limit_from_params(params: Mapping[str, Any]) -> tuple[int, ChargingLimit]:
    """(connector id, limit) of a ``set_charging_profile`` command: ``purpose`` (station_max,
    tx_default, tx), ``limit_a``, optional ``phases``, ``stack_level``, ``profile_id``,
    ``transaction_id``, ``duration_s``; or ``periods`` [{start_s, limit_a, phases}]."""
    try:
        purpose = Purpose(params.get("purpose", "tx_default"))
    except ValueError:
        raise CommandError("purpose is one of station_max, tx_default, tx") from None
    connector_id = integer(params, "connector_id", 0 if purpose is Purpose.STATION_MAX else None)
    raw_periods = params.get("periods")
    try:
        if raw_periods is None:
            limit_a = params.get("limit_a")
            if not isinstance(limit_a, int | float) or isinstance(limit_a, bool):
                raise CommandError("limit_a is required (A per phase)")
            periods: tuple[LimitPeriod, ...] = (
                LimitPeriod(0, float(limit_a), optional_int(params, "phases")),
            )
        else:
            periods = tuple(
                LimitPeriod(int(p["start_s"]), float(p["limit_a"]), p.get("phases"))
                for p in raw_periods
            )
        limit = check_limit(
            ChargingLimit(
                profile_id=integer(params, "profile_id", PROFILE_IDS[purpose]),
                purpose=purpose,
                periods=periods,
                stack_level=integer(params, "stack_level", 0),
                transaction_id=optional_int(params, "transaction_id"),
                duration_s=optional_int(params, "duration_s"),
            )
        )
    except (LimitError, KeyError, TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    return connector_id, limit
