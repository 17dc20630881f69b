"""Instants in request bodies and query parameters, read by the domain's one instant parser
(domain.instants) instead of pydantic's own, so that text naming an instant outside the supported
range (``9999-12-31T23:59:59-23:59``) is answered 422 with a sentence, not a 500 wherever it is
first converted.

``Instant``: the datetime as written (offset kept); a naive one is let through for the endpoint
to refuse in its own words (they answer 400 "needs a UTC offset"). ``AwareInstant``: a naive one
is refused here (422). Both are documented as ``string`` / ``date-time``.

The device readings endpoints (telemetry/read_endpoints.py) keep pydantic's datetime: their
service bounds the window to 1970..2199 itself (400, "out of range"), which is stricter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from voltfleet.domain.instants import InstantError, check_instant, read_instant

_EXPECTED = "an instant is ISO 8601 text with a UTC offset, e.g. 2026-03-01T12:00:00Z"


def _read(value: object) -> datetime:
    try:
        if isinstance(value, datetime):
            return check_instant(value)
        if isinstance(value, str):
            return read_instant(value)
    except InstantError as exc:
        raise PydanticCustomError(
            "datetime_parsing", "Input should be a valid datetime: {why}", {"why": str(exc)}
        ) from None
    raise PydanticCustomError("datetime_type", "Input should be a valid datetime: " + _EXPECTED)


def _read_aware(value: object) -> datetime:
    ts = _read(value)
    if ts.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", "Input should have timezone info: " + _EXPECTED)
    return ts


Instant = Annotated[datetime, BeforeValidator(_read)]
AwareInstant = Annotated[datetime, BeforeValidator(_read_aware)]
