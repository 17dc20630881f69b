"""Edge agent throughput: readings per second the agent reads from simulated SunSpec devices and
publishes (QoS 1, acknowledged by the broker), beside the raw pymodbus read rate of the same
devices, measured in the same run.

The devices: ``HOMES`` simulated homes (simulator/sunspec_bus.py: a hybrid inverter 1+103+124, a
battery 1+802 and a meter 1+203 each, so 3 x HOMES unit ids) on one pymodbus Modbus TCP server in
a process of its own, as a Modbus TCP gateway in front of an RS485 bus is another box.

1. Raw: pymodbus clients read each device's spans (what the agent reads per poll: the registers
   its mapped points and their scale factors need, in reads of up to 125 registers, edge/reads.py)
   in turn, as fast as they can, for ``SECONDS``, over one connection and over ``CONNECTIONS``
   side by side (the agent's ``connections`` setting); reported as reads/s and as the readings/s
   those reads would give (the readings one poll of every device gives, per read).
2. The agent: ``EdgeAgent`` with ``poll_s=0`` (poll again as soon as a poll is done) and
   ``connections=CONNECTIONS`` against the same server, its SQLite outbox, publishing to a
   Mosquitto started here on a free loopback port
   (anonymous: the broker's ACL is not what is measured); ``put`` is readings read and stored in
   the outbox, ``sent`` readings whose message the broker acknowledged (PUBACK), each per second
   over ``SECONDS`` after a 2 s warm-up; the CPU time of the agent, the bus and the broker in
   that window, per reading (the figure to reason about on a shared machine: at 50 us a reading
   in all, 20,000 readings/s fit in one core). The platform's side (bridge and ingest) is
   benchmarks/bench_mqtt_ingest.py.
3. The publishing path alone: a backlog of ``BACKLOG`` readings in the outbox (as after a broker
   outage) drained at QoS 1 until empty.

    .venv/bin/python benchmarks/edge_agent.py        # about 30 s
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.protocols.mosquitto import MOSQUITTO, free_port  # noqa: E402

from voltfleet.edge import mapping  # noqa: E402
from voltfleet.edge.agent import EdgeAgent  # noqa: E402
from voltfleet.edge.config import EdgeConfig  # noqa: E402
from voltfleet.protocols.modbus.link import LinkConfig, ModbusLink  # noqa: E402
from voltfleet.protocols.sunspec import scan  # noqa: E402

HOMES = int(os.environ.get("BENCH_HOMES", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "200000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
# simulated bus processes serving the same homes on one port (SO_REUSEPORT): the server side's
# share of the CPU; 1 is one Modbus TCP gateway process as before
SERVERS = int(os.environ.get("BENCH_SERVERS", "1"))


def wait_port(port: int, timeout_s: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


async def raw_rate(port: int, units: list[int], connections: int) -> tuple[float, float]:
    """Reads/s of the devices' spans (the reads the agent's plans make: edge/reads.py) over
    ``connections`` pymodbus connections side by side (each reads its share of the devices in
    turn, as the agent spreads them), and the readings a poll of every device gives per read."""
    link = ModbusLink(LinkConfig(host="127.0.0.1", port=port, timeout_s=5.0))
    found = [await scan.scan(link, u) for u in units]
    battery = any(d.kind == "battery" for d in found)
    plans = [mapping.plan(d, battery) for d in found]
    per_poll = 0
    for p in plans:  # one poll's readings, as the agent maps them
        blocks = [await link.read(p.device.unit_id, a, n) for a, n in p.spans]
        per_poll += sum(v is not None for v in mapping.values(p, blocks))
    link.close()
    spans = [(p.device.unit_id, a, n) for p in plans for a, n in p.spans]

    async def one(share: list[tuple[int, int, int]]) -> int:
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=port, timeout_s=5.0))
        reads = 0
        start = time.perf_counter()
        while time.perf_counter() - start < SECONDS:
            for unit, first, count in share:
                await link.read(unit, first, count)
                reads += 1
        link.close()
        return reads

    start = time.perf_counter()
    counts = await asyncio.gather(*(one(spans[i::connections]) for i in range(connections)))
    return sum(counts) / (time.perf_counter() - start), per_poll / len(spans)


def cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


async def agent_rate(
    port: int, broker: int, units: list[int], outbox: Path, others: dict[str, list[int]]
) -> dict[str, float]:
    """``others``: processes (the bus, the broker) whose CPU time is measured too."""
    config = EdgeConfig(
        serial="BENCHEDGE",
        token="anonymous",
        broker_url=f"mqtt://127.0.0.1:{broker}",
        modbus=LinkConfig(host="127.0.0.1", port=port, timeout_s=5.0),
        unit_ids=tuple(units),
        poll_s=0.0,
        outbox=outbox,
        batch_readings=5000,
        connections=CONNECTIONS,
    )
    agent = EdgeAgent(config, now=lambda: datetime.now(UTC))
    task = asyncio.create_task(agent.run())
    deadline = time.monotonic() + 60
    while not agent.plans:
        if time.monotonic() > deadline or task.done():
            raise RuntimeError("the agent found no device")
        await asyncio.sleep(0.05)
    found = len(agent.plans)
    await asyncio.sleep(2.0)  # warm-up
    t0 = agent.outbox.tally()
    r0 = sum(link.reads for link in agent.pollers)
    c0 = {name: cpu_s(pids) for name, pids in others.items()}
    own0 = time.process_time()
    start = time.perf_counter()
    await asyncio.sleep(SECONDS)
    t1 = agent.outbox.tally()
    r1 = sum(link.reads for link in agent.pollers)
    elapsed = time.perf_counter() - start
    own = (time.process_time() - own0) / elapsed
    cpu = {name: (cpu_s(pids) - c0[name]) / elapsed for name, pids in others.items()}
    pending = agent.outbox.pending()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, 10)
    return {
        "found": found,
        "put": (t1["put"] - t0["put"]) / elapsed,
        "sent": (t1["sent"] - t0["sent"]) / elapsed,
        "reads": (r1 - r0) / elapsed,
        "pending": pending,
        "cpu_agent": own,
        **{f"cpu_{name}": v for name, v in cpu.items()},
    }


async def drain_rate(broker: int, outbox_path: Path) -> float:
    """The agent's publishing path alone: a backlog of ``BACKLOG`` readings in its outbox (as
    after a broker outage) sent at QoS 1 until the outbox is empty; readings/s."""
    from voltfleet.edge.mqtt_link import MqttLink
    from voltfleet.edge.outbox import Outbox

    outbox = Outbox(outbox_path)
    base = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    points = [("pv_power_w", "W"), ("grid_power_w", "W"), ("soc", "%"), ("ac_power_w", "W"),
              ("pv_energy_wh", "Wh")]  # fmt: skip
    for k in range(BACKLOG // 75):  # polls of 15 devices x 5 points
        ts = datetime.fromtimestamp(base + k, UTC).isoformat().replace("+00:00", "Z")
        outbox.put(
            [{"device": f"DEV{d}", "point": p, "ts": ts, "value": 1234.5 + k, "unit": u}
             for d in range(15) for p, u in points]
        )  # fmt: skip
    n = outbox.pending()

    async def nothing(command_id: str, body: object) -> dict[str, object]:
        return {}

    link = MqttLink(f"mqtt://127.0.0.1:{broker}", "BENCHDRAIN", "x", outbox, nothing,
                    batch_readings=5000)  # fmt: skip
    start = time.perf_counter()
    task = asyncio.create_task(link.run())
    deadline = time.monotonic() + 120
    while outbox.pending():
        if time.monotonic() > deadline or task.done():
            raise RuntimeError("the backlog was not drained in 120 s")
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, 10)
    outbox.close()
    return n / elapsed


def main() -> None:
    import faulthandler

    faulthandler.dump_traceback_later(300, exit=True)  # a stuck run says where, and ends
    port, broker = free_port(), free_port()
    units = list(range(1, 3 * HOMES + 1))
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(
            f"listener {broker} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_inflight_messages 100\nmax_queued_messages 100000\n"
        )
        mosq = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
        reuse = ["--reuse-port"] if SERVERS > 1 else []
        cmd = [sys.executable, "-m", "voltfleet.simulator.sunspec_bus", "--port", str(port),
               "--homes", str(HOMES), "--tick", "5", *reuse]  # fmt: skip
        buses = [
            subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(SERVERS)
        ]
        try:
            wait_port(broker)
            wait_port(port)
            raw1, per_read = asyncio.run(raw_rate(port, units, 1))
            raw, _ = asyncio.run(raw_rate(port, units, CONNECTIONS))
            others = {"bus": [b.pid for b in buses], "broker": [mosq.pid]}
            agent = asyncio.run(
                agent_rate(port, broker, units, Path(tmp) / "outbox.sqlite3", others)
            )
            drain = asyncio.run(drain_rate(broker, Path(tmp) / "backlog.sqlite3"))
        finally:
            for bus in buses:
                bus.terminate()
            mosq.terminate()
            for bus in buses:
                bus.wait(10)
            mosq.wait(10)
    load = os.getloadavg()[0]
    print(f"edge agent, {HOMES} simulated homes ({3 * HOMES} SunSpec devices), {SECONDS:g} s "
          f"each, {SERVERS} simulated bus process(es), load average {load:.1f}")  # fmt: skip
    for n, r in ((1, raw1), (CONNECTIONS, raw)):
        print(f"  raw pymodbus reads of the same spans, {n} connection(s): {r:8,.0f} reads/s "
              f"= {r * per_read:,.0f} readings/s ({per_read:.1f} readings a read)")  # fmt: skip
    print(f"  agent found {agent['found']:.0f} of {len(units)} devices")
    print(f"  agent Modbus reads ({CONNECTIONS} connection(s))    : {agent['reads']:8,.0f} reads/s")
    print(f"  agent readings into its outbox         : {agent['put']:8,.0f} readings/s")
    print(f"  agent readings acknowledged (PUBACK)   : {agent['sent']:8,.0f} readings/s "
          f"({agent['pending']:,.0f} still in the outbox at the end)")  # fmt: skip
    print(f"  agent draining a backlog of {BACKLOG:,} : {drain:8,.0f} readings/s (PUBACKed)")
    # CPU per reading: what the target needs of a machine with free cores
    put, reads = max(agent["put"], 1.0), max(agent["reads"], 1.0)
    us_agent = agent["cpu_agent"] / put * 1e6
    us_bus = agent["cpu_bus"] / put * 1e6
    us_broker = agent["cpu_broker"] / put * 1e6
    total = us_agent + us_bus + us_broker
    print(f"  CPU in the agent window: agent {agent['cpu_agent']:.2f} core(s), bus "
          f"{agent['cpu_bus']:.2f} ({agent['cpu_bus'] / reads * 1e6:.0f} us a read), broker "
          f"{agent['cpu_broker']:.2f}")  # fmt: skip
    print(f"  CPU per reading: agent {us_agent:.1f} us, bus {us_bus:.1f} us, broker "
          f"{us_broker:.1f} us, total {total:.1f} us")  # fmt: skip
    need, alone = 20_000 * total / 1e6, 20_000 * us_agent / 1e6
    print(f"  at these costs 20,000 readings/s needs about {need:.2f} cores "
          f"(agent alone {alone:.2f}), this machine has {os.cpu_count()}")  # fmt: skip


if __name__ == "__main__":
    main()
