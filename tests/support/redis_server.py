"""A throwaway Redis (the Debian package's redis-server) on a free loopback port, no persistence,
for the shared rate limits. Skipped when absent unless VOLTFLEET_REQUIRE_REDIS=1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.pg_server import free_port


def require_redis() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if found is None:
        if os.environ.get("VOLTFLEET_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is required (VOLTFLEET_REQUIRE_REDIS=1) but was not found")
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    return found


@contextmanager
def redis_server(timeout_s: float = 10.0) -> Iterator[str]:
    """Yields the server's URL (redis://127.0.0.1:PORT/0)."""
    binary = require_redis()
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
