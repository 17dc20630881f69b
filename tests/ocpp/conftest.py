"""Fixtures of the OCPP conformance suite: the platform served by uvicorn on 127.0.0.1 (SQLite;
the OCPP path is the same on PostgreSQL, which tests/app/test_ocpp.py covers), a world of
organisations and accounts, and a charger bound to a site with its password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.app.test_ocpp import make_charger
from tests.support.live_server import live_server
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


@pytest.fixture
def charger(client: TestClient, world: World) -> dict[str, str]:
    """A charger of I1's new site: its ids, serial and password."""
    return {**make_charger(client, world, "EVC-CONF-1"), "serial": "EVC-CONF-1"}


@pytest.fixture
def om(world: World) -> dict[str, str]:
    return world.accounts["om@I1"].headers()
