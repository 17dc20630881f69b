"""``voltfleet serve`` runs uvicorn without permessage-deflate on its WebSockets (the OCPP
endpoint is the only one): OCPP frames are a few hundred bytes, and a deflate context per
connection costs memory and CPU for each of thousands of chargers
(benchmarks/ocpp_connections.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from voltfleet import cli
from voltfleet.settings import Settings


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_turns_websocket_deflate_off(
    workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    for key, value in {
        "VOLTFLEET_MODE": "test",
        "VOLTFLEET_DATA_DIR": str(tmp_path),
        "VOLTFLEET_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "VOLTFLEET_SECRET_KEY": "serve-" + "x" * 40,
    }.items():
        monkeypatch.setenv(key, value)
    assert Settings().mode == "test"
    cli.cmd_serve(argparse.Namespace(workers=workers, host="127.0.0.1", port=0))
    assert seen["ws_per_message_deflate"] is False
