"""Security profiles 2 (TLS + HTTP Basic) and 3 (TLS client certificates bound to the charger id)
against uvicorn serving TLS on 127.0.0.1 with the platform's options
(``app.charging.tls.uvicorn_tls_options``, as ``voltfleet serve`` uses them)."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ocpp.v201 import call
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from tests.app.test_ocpp import make_charger
from tests.ocpp.certs import Authority
from tests.ocpp.stations import Station201
from tests.support.live_server import free_port
from tests.support.world import World
from voltfleet.app.charging.tls import uvicorn_tls_options

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    ca = Authority(tmp_path, "chargers-ca")
    rogue = Authority(tmp_path, "rogue-ca")
    return {
        "ca": ca.path.with_suffix(".pem"),
        "server": ca.issue("127.0.0.1", server=True),
        "one": ca.issue("EVC-TLS-1"),
        "two": ca.issue("EVC-TLS-2"),
        "rogue": rogue.issue("EVC-TLS-1"),
    }


@pytest.fixture
def tls_url(app: FastAPI, pki: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    server_cert = pki["server"]
    options = uvicorn_tls_options(
        str(server_cert.with_suffix(".pem")), str(server_cert.with_suffix(".key")), str(pki["ca"])
    )
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"wss://127.0.0.1:{port}/ocpp/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def chargers(client: TestClient, world: World) -> dict[str, dict[str, str]]:
    return {
        "one": make_charger(client, world, "EVC-TLS-1"),
        "two": make_charger(client, world, "EVC-TLS-2"),
    }


def context(pki: dict[str, Any], client_cert: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if client_cert:
        path = pki[client_cert]
        ctx.load_cert_chain(str(path.with_suffix(".pem")), str(path.with_suffix(".key")))
    return ctx


async def attempt(
    base: str, pki: dict[str, Any], cp_id: str, cert: str | None, password: str | None
) -> str:
    """ "Accepted" (booted), or the HTTP status / TLS failure of the refusal."""
    headers = {"Authorization": build_authorization_basic(cp_id, password)} if password else {}
    try:
        ws = await connect(
            base + cp_id,
            subprotocols=[Subprotocol("ocpp2.0.1")],
            additional_headers=headers,
            ssl=context(pki, cert),
            open_timeout=10,
        )
    except InvalidStatus as exc:
        return str(exc.response.status_code)
    except (ssl.SSLError, ConnectionError, OSError, InvalidMessage) as exc:
        # TLS 1.3: the server refuses the certificate after the client's side of the handshake
        return f"tls: {type(exc).__name__}"
    cp = Station201(cp_id, ws)
    reader = asyncio.create_task(cp.start())
    try:
        got = await cp.call(
            call.BootNotification(
                charging_station={"vendor_name": "ACME", "model": "TLS"}, reason="PowerUp"
            ),
            suppress=False,
        )
        return str(got.status)
    except Exception as exc:  # the server may close a refused handshake late
        return f"tls: {type(exc).__name__}"
    finally:
        reader.cancel()
        await ws.close()


def test_profile_2_tls_with_basic_auth(
    tls_url: str, pki: dict[str, Any], chargers: dict[str, dict[str, str]]
) -> None:
    token = chargers["one"]["token"]
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", None, token)) == "Accepted"
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", None, token + "x")) == "401"
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", None, None)) == "401"


def test_profile_3_client_certificate_bound_to_the_charger_id(
    tls_url: str, pki: dict[str, Any], chargers: dict[str, dict[str, str]]
) -> None:
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", "one", None)) == "Accepted"
    # another charger's valid certificate (with that charger on the platform) is refused
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", "two", None)) == "403"
    # and a valid password does not make it right
    token = chargers["one"]["token"]
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", "two", token)) == "403"


def test_profile_3_certificate_of_an_unknown_authority_fails_the_handshake(
    tls_url: str, pki: dict[str, Any], chargers: dict[str, dict[str, str]]
) -> None:
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", "rogue", None)).startswith("tls:")


def test_profile_3_certificate_of_a_charger_not_on_the_platform(
    tls_url: str, pki: dict[str, Any], client: TestClient, world: World
) -> None:
    # no charger EVC-TLS-1 is bound to a site in this test
    assert asyncio.run(attempt(tls_url, pki, "EVC-TLS-1", "one", None)) == "403"
