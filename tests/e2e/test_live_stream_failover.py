"""A live stream survives the death of the API process serving it (issue 18: "live streams
resumed"). Two API processes on one PostgreSQL behind the nginx site we ship; a client holds a
site's server-sent events through the proxy on process a; a is SIGKILLed; the stream ends, the
client connects again as an EventSource does, lands on process b, and sees a reading stored after
the kill."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.nginx_proxy import Nginx, nginx_binary
from tests.support.pg_server import fresh_database
from tests.support.server_process import ServerProcess, seed_installer

pytestmark = pytest.mark.pg

LIVE = "GET /api/v1/sites/"  # the access-log line of a stream request


@pytest.fixture
def two_apis(pg_url: str | None, tmp_path: Path):
    if pg_url is None:
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    if nginx_binary() is None:
        if os.environ.get("VOLTFLEET_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required (VOLTFLEET_REQUIRE_NGINX=1) but was not found")
        pytest.skip("nginx not installed")
    url = fresh_database(pg_url, "voltfleet_live_failover")
    email, password = seed_installer(url, tmp_path)
    # a snapshot every second, streams kept open far longer than the test
    env = {"VOLTFLEET_TRUSTED_PROXIES": "127.0.0.1", "VOLTFLEET_LIVE_INTERVAL_S": "1"}
    servers = [ServerProcess(url, tmp_path, env=env, log_name=f"api-{n}.log") for n in ("a", "b")]
    proxy = Nginx(tmp_path / "nginx", [s.port for s in servers])
    try:
        for s in servers:
            s.start()
        proxy.start()
        yield proxy, servers, (email, password)
    finally:
        proxy.stop()
        for s in servers:
            s.stop()


def streams_served(server: ServerProcess, site_id: str) -> int:
    return server.log_tail(200_000).count(f"{LIVE}{site_id}/live ")


def first_event(chunks: Iterator[str]) -> str:
    seen = ""
    for chunk in chunks:
        seen += chunk.replace("\r\n", "\n")  # sse-starlette ends its lines with CRLF
        if "event: live" in seen and "\n\n" in seen.split("event: live", 1)[1]:
            return seen
    raise AssertionError(f"the stream ended before its first event: {seen!r}")


def test_a_live_stream_resumes_on_the_other_process_after_a_sigkill(two_apis) -> None:
    proxy, (a, b), (email, password) = two_apis
    tls = ssl.create_default_context(cafile=str(proxy.cert))
    with httpx.Client(base_url=proxy.url, verify=tls, timeout=10, trust_env=False) as http:
        r = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        site = http.post(
            "/api/v1/sites",
            json={"name": "Live home", "timezone": "Europe/Berlin", "gateway": {"serial": "LV-GW"}},
            headers=h,
        )
        assert site.status_code == 201, site.text
        sid = site.json()["id"]
        devices = http.get("/api/v1/devices", params={"site_id": sid}, headers=h).json()["items"]
        gw = next(d for d in devices if d["serial"] == "LV-GW")
        gw_token = http.post(f"/api/v1/devices/{gw['id']}/token", headers=h).json()["token"]
        url = f"/api/v1/sites/{sid}/live"

        # Hold a stream on process a (round robin: try again until a serves one).
        held = None
        for _ in range(8):
            before = streams_served(a, sid)
            ctx = http.stream("GET", url, headers=h, timeout=15)
            live = ctx.__enter__()
            assert live.status_code == 200
            chunks = live.iter_text()  # one iterator: a response streams once
            assert "retry:" in first_event(chunks)  # an EventSource's reconnect delay
            time.sleep(0.3)  # the access-log line is flushed
            if streams_served(a, sid) > before:
                held = (ctx, chunks)
                break
            ctx.__exit__(None, None, None)
        assert held is not None, "no stream landed on process a in 8 tries"
        ctx, chunks = held

        a.kill()
        ended = time.monotonic()
        try:  # the stream a served ends: nginx cannot relay what a will never send
            for _ in chunks:
                assert time.monotonic() - ended < 20, "the dead process's stream kept going"
        except httpx.HTTPError:
            pass
        finally:
            ctx.__exit__(None, None, None)

        # A reading stored after the kill, with a value nobody else sends.
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        r = http.post(
            "/api/v1/ingest",
            json={"readings": [{"point": "grid_power_w", "ts": now, "value": 4321, "unit": "W"}]},
            headers={"Authorization": f"Bearer {gw_token}"},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text

        # The client connects again (as an EventSource does after `retry`): b serves it, and the
        # resumed stream carries the new reading.
        served_by_b = streams_served(b, sid)
        with http.stream("GET", url, headers=h, timeout=15) as resumed:
            assert resumed.status_code == 200
            seen = ""
            deadline = time.monotonic() + 15
            for chunk in resumed.iter_text():
                seen += chunk
                if "4321" in seen or time.monotonic() > deadline:
                    break
        assert "4321" in seen, seen[-2000:]
        time.sleep(0.3)
        assert streams_served(b, sid) > served_by_b
