"""What a default departure adds to a session's start, on SQLite: the unit of work a charger's
StartTransaction (1.6) or TransactionEvent Started (2.0.1) runs before the answer (start the
session, store the register; then look up the card's and the connector's default and set the
departure), against the same unit without the lookup, in one run.

A site with 200 id tags (half with a default) and C chargers of one connector each (every
other connector with a default); each round starts a session on every charger (a tag chosen
round-robin, so a third of the starts find a card default, some only the connector's, some none),
then stops them all. Prints the median and p99 per start for both.

    .venv/bin/python benchmarks/departure_defaults.py [C] [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voltfleet.app.charging import departure_defaults
from voltfleet.app.charging.link import repository
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.settings import Settings
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.departure_defaults_models import (
    ConnectorDepartureDefault,
    TagDepartureDefault,
)
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Org, Site
from voltfleet.store.ocpp_models import IdTag
from voltfleet.usecases import charging
from voltfleet.usecases.charging import StartRequest


def main(chargers: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(
        mode="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        secret_key="bench-" + "s" * 40,
    )
    runtime = build_runtime(settings)
    create_app(runtime=runtime)
    with runtime.db.session() as s:
        org = s.query(Org).first()
        assert org is not None
        site = Site(org_id=org.id, name="bench", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        tags = [IdTag(site_id=site.id, tag=f"CARD-{k:03d}") for k in range(200)]
        s.add_all(tags)
        devices = [
            Device(site_id=site.id, kind="charger", serial=f"BC{k:05d}", status="online")
            for k in range(chargers)
        ]
        s.add_all(devices)
        s.flush()
        s.add_all(
            TagDepartureDefault(id_tag_id=t.id, departure_time="07:30", energy_need_wh=20_000)
            for t in tags[::2]
        )
        conns = [Connector(charger_id=d.id, connector_no=1) for d in devices]
        s.add_all(conns)
        s.flush()
        s.add_all(
            ConnectorDepartureDefault(connector_id=c.id, departure_time="18:00", energy_need_wh=8e3)
            for c in conns[::2]
        )
        device_ids = [d.id for d in devices]
    t0 = datetime.now(UTC)
    timings: dict[bool, list[float]] = {False: [], True: []}
    n = 0
    for r in range(rounds):
        for with_defaults in (False, True):  # interleaved: the machine's load hits both alike
            for k, device_id in enumerate(device_ids):
                n += 1
                at = t0 + timedelta(seconds=n)
                request = StartRequest(1, f"CARD-{(k * 3 + r) % 300:03d}", n * 10, at)
                began = time.perf_counter()
                with runtime.db.session() as s:
                    device = s.get(Device, device_id)
                    assert device is not None
                    charging.start_transaction(repository(runtime, s), device, request, now=at)
                    if with_defaults:
                        departure_defaults.apply_at_start(s, device, request, at)
                timings[with_defaults].append(time.perf_counter() - began)
            with runtime.db.session() as s:
                s.execute(update(ChargingSession).values(stopped_at=t0 + timedelta(seconds=n)))
    for with_defaults, label in ((True, "start with default departures"), (False, "baseline")):
        ms = sorted(x * 1000 for x in timings[with_defaults])
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(f"{label:32s} {len(ms):5d} starts: median {statistics.median(ms):.2f} ms, "
              f"p99 {p99:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 200, args[1] if len(args) > 1 else 3)
