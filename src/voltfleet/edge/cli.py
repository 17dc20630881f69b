"""``voltfleet edge``: the agent's command line (docs/edge-agent.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    e = sub.add_parser(
        "edge", help="run the edge agent beside SunSpec devices (Modbus TCP/RTU -> MQTT/HTTP)"
    )
    e.add_argument("--config", type=Path, help="a TOML file with an [edge] table")
    e.add_argument("--serial", help="the gateway's serial number")
    e.add_argument(
        "--token",
        default=os.environ.get("VOLTFLEET_EDGE_TOKEN"),
        help="the gateway token (or VOLTFLEET_EDGE_TOKEN)",
    )
    e.add_argument("--broker-url", help="mqtt://host:1883")
    e.add_argument("--platform-url", help="https://... (HTTP instead of MQTT)")
    e.add_argument("--modbus-host", help="Modbus TCP host (or a serial port, --serial-port)")
    e.add_argument("--modbus-port", type=int)
    e.add_argument("--serial-port", help="Modbus RTU serial port, e.g. /dev/ttyUSB0")
    e.add_argument("--baudrate", type=int)
    e.add_argument("--parity", choices=["N", "E", "O"])
    e.add_argument("--stopbits", type=int, choices=[1, 2])
    e.add_argument("--unit-ids", help="unit ids to scan: 1,2,3 or 1-10")
    e.add_argument("--poll-s", type=float, help="seconds between polls (default 10)")
    e.add_argument("--outbox", help="the outbox file (SQLite)")
    e.add_argument("--batch-readings", type=int, help="readings in one message")
    e.add_argument("--connections", type=int, help="Modbus TCP connections polling side by side")
    e.add_argument("--zone", help="the site's time zone, e.g. Europe/Berlin (TOU mode's clock)")
    e.add_argument("--country", help="the site's country, e.g. DE (TOU mode's public holidays)")
    e.add_argument("--subdivision", help="the site's state or region, e.g. BY (holidays)")
    e.set_defaults(fn=main)


def main(args: argparse.Namespace) -> None:
    from voltfleet.edge.agent import EdgeAgent
    from voltfleet.edge.config import ConfigError, load

    keys = [
        "serial",
        "token",
        "broker_url",
        "platform_url",
        "modbus_host",
        "modbus_port",
        "serial_port",
        "baudrate",
        "parity",
        "stopbits",
        "unit_ids",
        "poll_s",
        "outbox",
        "batch_readings",
        "connections",
        "zone",
        "country",
        "subdivision",
    ]
    try:
        config = load(args.config, {k: getattr(args, k) for k in keys})
    except ConfigError as exc:
        print(f"voltfleet edge: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def run() -> None:
        await EdgeAgent(config, now=lambda: datetime.now(UTC)).run()  # its Modbus client needs
        # the running loop

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
