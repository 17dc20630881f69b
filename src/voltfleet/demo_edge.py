"""The demo's edge-agent home: one home whose data comes through ``voltfleet edge``.

At ``voltfleet demo`` start: a site "Edge Agent Home Ulm" with only its gateway (SIMEDGE-GW) is
seeded (once) under an installer of its own below the platform, "Edge Pilot Installer" (the
platform superuser, admin@demo.voltfleet, sees it; the distributor's demo fleet stays the twenty
simulated homes), the gateway gets a fresh token, a simulated SunSpec bus
(simulator/sunspec_bus.py: a hybrid inverter, a battery and a meter of the home model on Modbus
TCP, on a free loopback port) starts, and the edge agent beside it scans the bus, reports its
inventory (auto-detect binds the three devices to the site) and sends their readings every 10 s
over the demo server's HTTP API (the demo has no MQTT broker), as a Raspberry Pi at a home does.
The site's devices, live data and charts then show in the portal within a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select, update

from voltfleet.accounts import ensure_platform
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import sha256
from voltfleet.app.telemetry.service import TOKEN_PREFIX
from voltfleet.demo import demo_installer_id
from voltfleet.domain.access import OrgType
from voltfleet.edge.agent import EdgeAgent
from voltfleet.edge.config import EdgeConfig
from voltfleet.protocols.modbus.link import LinkConfig
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_bus import SunSpecBus, run_in_thread
from voltfleet.store.db import utcnow
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site
from voltfleet.store.telemetry_models import DeviceCredential

log = logging.getLogger(__name__)

GATEWAY = "SIMEDGE-GW"
SITE = "Edge Agent Home Ulm"
INSTALLER = "Edge Pilot Installer"
TAG = "SIMEDGE"  # the SunSpec devices' serials: SIMEDGE00001-INV, -BAT, -MTR


def seed(runtime: Runtime) -> str | None:
    """The site and its gateway (once), and a new gateway token; None without a demo fleet."""
    if demo_installer_id(runtime) is None:
        return None  # no demo fleet seeded
    with runtime.db.session() as s:
        gw = s.scalar(select(Device).where(Device.serial == GATEWAY, Device.deleted_at.is_(None)))
        if gw is None:
            org = s.scalar(select(Org).where(Org.name == INSTALLER))
            if org is None:
                org = build_org(ensure_platform(s), INSTALLER, OrgType.INSTALLER, "DE")
                s.add(org)
                s.flush()
            site = Site(
                org_id=org.id,
                name=SITE,
                country="DE",
                timezone="Europe/Berlin",
                capacity_kwp=8.0,
                latitude=48.40,
                longitude=9.99,
                currency="EUR",
            )
            s.add(site)
            s.flush()
            gw = Device(site_id=site.id, kind="gateway", subtype="ethernet", serial=GATEWAY,
                        model="voltfleet edge (Raspberry Pi)", name="Edge agent")  # fmt: skip
            s.add(gw)
            s.flush()
        now = utcnow()
        s.execute(
            update(DeviceCredential)
            .where(DeviceCredential.device_id == gw.id, DeviceCredential.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        s.add(DeviceCredential(device_id=gw.id, prefix=token[:12], token_hash=sha256(token),
                               created_at=now))  # fmt: skip
    return token


def start(runtime: Runtime, url: str) -> Callable[[], None]:
    """Seed, start the bus and the agent; returns ``stop``."""
    token = seed(runtime)
    if token is None:
        return lambda: None
    spec = make_homes(1, seed=2026)[0]
    bus = SunSpecBus([spec], TAG, tick_s=5.0, source="try", controls=True)  # 123: power switch
    bus_thread, stop_bus = run_in_thread(bus)
    config = EdgeConfig(
        serial=GATEWAY,
        token=token,
        platform_url=url,
        modbus=LinkConfig(host="127.0.0.1", port=bus.port),
        unit_ids=(1, 2, 3),
        poll_s=10.0,
        outbox=runtime.settings.data_dir / "edge-outbox.sqlite3",
        command_poll_s=5.0,
        zone="Europe/Berlin",  # the site's zone: TOU slots run on it
        country="DE",  # the site's country: a TOU table's public holidays
    ).check()
    stop_agent = threading.Event()

    def main() -> None:
        async def go() -> None:
            task = asyncio.create_task(
                EdgeAgent(config, now=lambda: datetime.now(UTC)).run()  # the demo's wall clock
            )
            while not stop_agent.is_set() and not task.done():
                await asyncio.sleep(0.2)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

        asyncio.run(go())

    agent_thread = threading.Thread(target=main, name="edge-agent", daemon=True)
    agent_thread.start()

    def stop() -> None:
        stop_agent.set()
        stop_bus.set()
        agent_thread.join(5)
        bus_thread.join(5)

    return stop
