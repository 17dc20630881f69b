"""The edge agent's ``connections`` setting: several Modbus TCP connections read their share of
the devices side by side (a real pymodbus server), and one poll gives the same readings as over
one connection; simulated buses that share a port (the throughput benchmark's bus processes)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from voltfleet.edge.agent import EdgeAgent
from voltfleet.edge.config import EdgeConfig
from voltfleet.protocols.modbus.link import LinkConfig, ModbusLink
from voltfleet.protocols.sunspec import scan
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_bus import SunSpecBus


def test_several_connections_share_the_devices_of_a_poll(tmp_path: Path) -> None:
    bus = SunSpecBus(make_homes(2, seed=3), "SIMC")

    async def scenario() -> tuple[list[int], list[int], set[tuple[str, str]]]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        try:
            counts: list[int] = []
            reads: list[int] = []
            points: set[tuple[str, str]] = set()
            for connections in (1, 3):
                config = EdgeConfig(
                    serial="GWPOLL",
                    token="t",
                    platform_url="http://127.0.0.1:9",  # never started: no transport here
                    modbus=LinkConfig(host="127.0.0.1", port=bus.port),
                    unit_ids=(1, 2, 3, 4, 5, 6),
                    outbox=tmp_path / f"o{connections}.db",
                    connections=connections,
                )
                agent = EdgeAgent(config, now=lambda: datetime.now(UTC))
                try:
                    await agent.rescan()
                    counts.append(await agent.poll_once())
                    reads.append(min(link.reads for link in agent.pollers))
                    _, body, _ = agent.outbox.peek(10_000)
                    got = {(r["device"], r["point"]) for r in json.loads(body)}
                    points = got if not points else points & got
                finally:
                    for link in agent.pollers:
                        link.close()
                    agent.outbox.close()
            return counts, reads, points
        finally:
            await bus.server.stop()

    counts, reads, points = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert counts[0] == counts[1] > 0
    assert reads[1] >= 2  # each of the 3 connections read 2 of the 6 devices
    assert {s for s, _ in points} == set(bus.serials)


def test_two_simulated_buses_can_share_one_port_for_a_load_generator() -> None:
    """``reuse_port`` (the benchmark's several bus processes): a second server on the same port
    listens too, and a client reads the same devices from either."""
    a = SunSpecBus(make_homes(1, seed=3), "SIMR", reuse_port=True)

    async def scenario() -> list[str]:
        await a.server.start()
        b = SunSpecBus(make_homes(1, seed=3), "SIMR", port=a.port, reuse_port=True)
        await b.server.start()  # without reuse_port it cannot listen (address in use)
        try:
            serials = []
            for _ in range(4):  # fresh connections, spread by the kernel
                link = ModbusLink(LinkConfig(host="127.0.0.1", port=a.port))
                serials.append((await scan.scan(link, 1)).serial)
                link.close()
            await a.server.stop()  # the second one still serves the port
            link = ModbusLink(LinkConfig(host="127.0.0.1", port=a.port, timeout_s=2.0))
            serials.append((await scan.scan(link, 1)).serial)
            link.close()
            return serials
        finally:
            await b.server.stop()
            await a.server.stop()

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == ["SIMR00001-INV"] * 5
