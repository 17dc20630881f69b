"""One poll of the edge agent against a simulated home on a real Modbus TCP server puts into its
outbox exactly the readings the mapping before the precomputed plans made, the site's
``load_power_w`` (the inverter's AC power + the meter's grid power) included."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.edge.test_edge_reads import _before
from voltfleet.edge.agent import EdgeAgent
from voltfleet.edge.config import EdgeConfig
from voltfleet.protocols.modbus.link import LinkConfig
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_bus import SunSpecBus
from voltfleet.simulator.sunspec_home import BASE


def _site_load_before(polled: list[tuple[Any, list[dict[str, Any]]]], ts: str) -> list[Any]:
    ac = [r["value"] for d, rs in polled if d.kind == "inverter" for r in rs
          if r["point"] == "ac_power_w"]  # fmt: skip
    grid = [r["value"] for d, rs in polled if d.kind == "meter" for r in rs
            if r["point"] == "grid_power_w"]  # fmt: skip
    inverters = [d for d, _ in polled if d.kind == "inverter"]
    if not ac or len(grid) != 1 or not inverters:
        return []
    return [{"device": inverters[0].serial, "point": "load_power_w", "ts": ts,
             "value": max(sum(ac) + grid[0], 0.0), "unit": "W"}]  # fmt: skip


def test_a_poll_puts_the_readings_of_before_and_the_site_load(tmp_path: Path) -> None:
    bus = SunSpecBus(make_homes(1, seed=7), "SIMPL")
    bus.advance(datetime.now(UTC))  # once: the registers stay put while the agent reads them
    bus.homes[0].meter.set(203, {"W": 400})  # importing 400 W (raw: W_SF is 0)
    fixed = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    async def go() -> tuple[list[Any], Any]:
        await bus.server.start()
        config = EdgeConfig(
            serial="GWPL",
            token="t",
            broker_url="mqtt://127.0.0.1:1",  # not started: the outbox is what is looked at
            modbus=LinkConfig(host="127.0.0.1", port=bus.port, timeout_s=2.0),
            unit_ids=(1, 2, 3),
            outbox=tmp_path / "outbox.sqlite3",
        )
        agent = EdgeAgent(config, now=lambda: fixed)
        try:
            assert await agent.rescan() == 3
            assert await agent.poll_once() > 0
            _, body, _ = agent.outbox.peek(1000)
            return json.loads(body), dict(agent.found)
        finally:
            for link in agent.pollers:
                link.close()
            agent.outbox.close()
            await bus.server.stop()

    got, found = asyncio.run(go())
    regs = {d.unit_id: list(d.bank.regs) for d in bus.homes[0].devices}
    ts = "2026-12-06T12:00:00.000Z"
    polled = []
    for unit, dev in sorted(found.items()):
        first = next(m for m in dev.models if m.model_id != 1).address
        polled.append((dev, _before(dev, True, regs[unit][first - BASE :], ts)))
    want = [r for _, rs in polled for r in rs] + _site_load_before(polled, ts)
    assert got == want
    assert len(want) == 17 and want[-1]["point"] == "load_power_w"
    ac = next(r["value"] for r in want if r["point"] == "ac_power_w")
    assert want[-1]["value"] == max(ac + 400.0, 0.0)
