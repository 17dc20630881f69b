"""Two API processes on one PostgreSQL behind the nginx site we ship (deploy/nginx/voltfleet.conf):
TLS, the HTTP redirect, both processes serving, the request id from nginx to the API, an OCPP
WebSocket and a live stream through the proxy, the body limit, and a process killed without the
callers noticing."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import ssl
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.nginx_proxy import Nginx, nginx_binary
from tests.support.pg_server import fresh_database
from tests.support.server_process import ServerProcess, seed_installer

pytestmark = pytest.mark.pg


@pytest.fixture
def proxied(pg_url: str | None, tmp_path: Path):
    if pg_url is None:
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    if nginx_binary() is None:
        if os.environ.get("VOLTFLEET_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required (VOLTFLEET_REQUIRE_NGINX=1) but was not found")
        pytest.skip("nginx not installed")
    url = fresh_database(pg_url, "voltfleet_nginx")
    email, password = seed_installer(url, tmp_path)
    env = {"VOLTFLEET_TRUSTED_PROXIES": "127.0.0.1", "VOLTFLEET_LIVE_MAX_S": "5"}
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


def test_two_api_processes_behind_the_shipped_nginx(proxied) -> None:
    proxy, (a, b), (email, password) = proxied
    plain = httpx.get(
        f"http://127.0.0.1:{proxy.http_port}/api/v1/me", follow_redirects=False, trust_env=False
    )
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://")

    with httpx.Client(
        base_url=proxy.url,
        verify=ssl.create_default_context(cafile=str(proxy.cert)),
        timeout=10,
        trust_env=False,
    ) as http:
        r = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        ids = set()
        for _ in range(8):
            r = http.get("/api/v1/me", headers=h)
            assert r.status_code == 200 and email in r.text
            ids.add(r.headers["x-request-id"])
        # nginx's $request_id reached the API, which answered with it (32 hex digits, each new)
        assert len(ids) == 8 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
        # Both processes served: each one's access log has the requests it answered.
        assert "GET /api/v1/me" in a.log_tail(50_000) and "GET /api/v1/me" in b.log_tail(50_000)

        site = http.post(
            "/api/v1/sites",
            json={
                "name": "Proxied home",
                "timezone": "Europe/Berlin",
                "gateway": {"serial": "NGX-GW"},
            },
            headers=h,
        )
        assert site.status_code == 201, site.text
        sid = site.json()["id"]
        charger = http.post(
            f"/api/v1/sites/{sid}/devices",
            json={"kind": "charger", "serial": "NGX-CP1", "subtype": "ac"},
            headers=h,
        )
        assert charger.status_code == 201, charger.text
        token = http.post(f"/api/v1/devices/{charger.json()['id']}/token", headers=h)
        assert token.status_code == 201, token.text
        secret = token.json()["token"]

        # A live stream: the first event arrives through the proxy (not held in a buffer).
        with http.stream("GET", f"/api/v1/sites/{sid}/live", headers=h, timeout=10) as live:
            assert live.status_code == 200
            seen = ""
            for chunk in live.iter_text():
                seen += chunk
                if "event: live" in seen:
                    break
            assert "event: live" in seen

        # A gateway's batch of 2,000 readings (a body nginx buffers to disk) is stored.
        gateway = next(
            d
            for d in http.get("/api/v1/devices", params={"site_id": sid}, headers=h).json()["items"]
            if d["serial"] == "NGX-GW"
        )
        gw_token = http.post(f"/api/v1/devices/{gateway['id']}/token", headers=h).json()["token"]
        readings = [
            {
                "point": "grid_power_w",
                "ts": f"2026-01-01T00:{m:02d}:{s:02d}Z",
                "value": m,
                "unit": "W",
            }
            for m in range(60)
            for s in range(0, 60, 2)
        ][:1800]
        r = http.post(
            "/api/v1/ingest",
            json={"readings": readings},
            headers={"Authorization": f"Bearer {gw_token}"},
        )
        assert r.status_code == 200 and r.json()["received"] == 1800, r.text[:300]

        # The body limit is nginx's first: a 9 MiB ingest never reaches the processes.
        big = http.post(
            "/api/v1/ingest",
            content=b"x" * (9 * 1024 * 1024),
            headers={"Authorization": "Bearer x"},
        )
        assert big.status_code == 413

    # OCPP 1.6J over wss through the proxy: the WebSocket is upgraded and a boot is accepted.
    async def boot() -> list:
        tls = ssl.create_default_context(cafile=str(proxy.cert))
        basic = base64.b64encode(f"NGX-CP1:{secret}".encode()).decode()
        async with connect(
            f"wss://127.0.0.1:{proxy.https_port}/ocpp/1.6/NGX-CP1",
            subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": f"Basic {basic}"},
            ssl=tls,
            open_timeout=10,
        ) as ws:
            await ws.send(
                json.dumps(
                    [
                        2,
                        "b1",
                        "BootNotification",
                        {"chargePointVendor": "V", "chargePointModel": "M"},
                    ]
                )
            )
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    reply = asyncio.run(boot())
    assert reply[:2] == [3, "b1"] and reply[2]["status"] == "Accepted", reply

    # One process dies: nginx sends the callers to the other; none of them sees an error.
    a.kill()
    with httpx.Client(
        base_url=proxy.url,
        verify=ssl.create_default_context(cafile=str(proxy.cert)),
        timeout=10,
        trust_env=False,
    ) as http:
        r = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        codes = [http.get("/api/v1/me", headers=h).status_code for _ in range(10)]
        assert codes == [200] * 10, codes
        a.start()
        assert http.get("/readyz").status_code == 200
