"""Refusals are new exception objects each time: one module-level exception raised again keeps
every earlier traceback, so it grew with each unauthenticated request."""

from __future__ import annotations

import traceback

import pytest

from voltfleet.app.telemetry.service import gateway_for_token
from voltfleet.usecases.errors import Unauthenticated


def test_each_refused_gateway_token_raises_a_fresh_error() -> None:
    seen: list[Unauthenticated] = []
    for _ in range(3):
        with pytest.raises(Unauthenticated) as refused:
            gateway_for_token(None, None)  # type: ignore[arg-type]  # refused before any query
        seen.append(refused.value)
    assert len({id(e) for e in seen}) == 3
    depths = {len(traceback.extract_tb(e.__traceback__)) for e in seen}
    assert len(depths) == 1, depths
