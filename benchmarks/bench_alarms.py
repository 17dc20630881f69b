"""Alarms on SQLite: what queueing notifications adds to alarm ingest, and the filtered alarm list
on 20,000 alarms.

1. A gateway's batch of 200 alarm raises through the one alarm ingest (app.alarms.service), with
   no subscription (the peer figure) and with 50 subscriptions that all want them (10,000 queued
   deliveries): the delivery itself never runs inside ingest, so only the queueing rows are added.
2. ``GET /api/v1/alarms`` (TestClient, platform superuser) on 20,000 alarms of 500 sites: no
   filter (the peer), then by level, by serial, by free text, and all with a day range in a zone.

    .venv/bin/python benchmarks/bench_alarms.py
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voltfleet.accounts import create_superuser, ensure_platform
from voltfleet.app.alarms.service import ingest_alarms
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.domain.alarms import CATALOGUE
from voltfleet.settings import Settings
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription
from voltfleet.store.alarm_repository import SqlAlarmIngestRepository
from voltfleet.store.db import new_id
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases import alarms as usecase

SITES = 500
ALARMS = 20_000
BATCH = 200
SUBS = 50
RUNS = 7


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(
        mode="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        secret_key="bench-" + "k" * 40,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    rt = build_runtime(settings)
    app = create_app(runtime=rt)
    now = datetime.now(UTC).replace(microsecond=0)
    codes = sorted(CATALOGUE)
    with rt.db.session() as s:
        platform = ensure_platform(s)
        su = create_superuser(s, rt, "bench@example.com", "Bench#12345")
        token = rt.security.issue_token(su.id, su.password_changed_at, now=now)
        site_rows = [
            {
                "id": new_id(),
                "org_id": platform.id,
                "name": f"site {i}",
                "timezone": "Europe/Berlin",
            }
            for i in range(SITES)
        ]
        s.execute(insert(Site), site_rows)
        gw_rows = [
            {"id": new_id(), "site_id": r["id"], "kind": "gateway", "serial": f"GW{i:05d}"}
            for i, r in enumerate(site_rows)
        ]
        s.execute(insert(Device), gw_rows)
        # Devices below the first gateway: one per raise of the ingest batch.
        first = gw_rows[0]
        s.execute(
            insert(Device),
            [
                {
                    "id": new_id(),
                    "site_id": first["site_id"],
                    "parent_id": first["id"],
                    "kind": "inverter",
                    "serial": f"INV{i:04d}",
                }
                for i in range(BATCH)
            ],
        )
        s.execute(
            insert(Alarm),
            [
                {
                    "id": new_id(),
                    "site_id": gw_rows[i % SITES]["site_id"],
                    "device_id": gw_rows[i % SITES]["id"],
                    "code": codes[i % len(codes)],
                    "severity": CATALOGUE[codes[i % len(codes)]].severity.value,
                    "level": CATALOGUE[codes[i % len(codes)]].level.value,
                    "message": f"message {i}",
                    "raised_at": now - timedelta(minutes=i),
                    "cleared_at": now - timedelta(minutes=i - 1) if i % 3 else None,
                    "received_at": now,
                }
                for i in range(ALARMS)
            ],
        )

    tick = itertools.count()  # each raise later than the clear before it: a new occurrence

    def ingest_ms(subscriptions: int, notify: bool = True) -> list[float]:
        with rt.db.session() as s:
            s.execute(delete(AlarmDelivery))
            s.execute(delete(AlarmSubscription))
            for i in range(subscriptions):
                s.add(
                    AlarmSubscription(
                        org_id=platform.id,
                        name=f"s{i}",
                        channel="email",
                        target=f"s{i}@example.com",
                        levels=["urgent", "important", "common", "prompt"],
                        site_ids=[],
                    )
                )
        times = []
        for _ in range(RUNS):
            t = now - timedelta(minutes=30) + timedelta(seconds=next(tick))
            raises = [
                {
                    "device": f"INV{i:04d}",
                    "code": "INV_FAN_FAULT",
                    "action": "raise",
                    "ts": t.isoformat(),
                }
                for i in range(BATCH)
            ]
            clears = [{**e, "action": "clear"} for e in raises]
            with rt.db.session() as s:
                gw = s.scalar(select(Device).where(Device.id == first["id"]))
                start = time.perf_counter()
                if notify:
                    out = ingest_alarms(s, gw, raises, now=now)
                else:  # the use case without the notifier: ingest as it was before
                    out = usecase.ingest_alarms(SqlAlarmIngestRepository(s), gw, raises, now=now)
                times.append((time.perf_counter() - start) * 1000)
                assert out.opened == BATCH, out
            with rt.db.session() as s:
                gw = s.scalar(select(Device).where(Device.id == first["id"]))
                ingest_alarms(s, gw, clears, now=now)
        return times

    before = ingest_ms(0, notify=False)
    bare = ingest_ms(0)
    queued = ingest_ms(SUBS)
    print(f"alarm ingest, batch of {BATCH} raises (median of {RUNS}, ms):")
    print(f"  without notifications (peer): {statistics.median(before):7.1f}")
    print(f"  no subscription: {statistics.median(bare):7.1f}")
    many = f"{SUBS} subscriptions, {BATCH * SUBS} deliveries queued"
    print(f"  {many}: {statistics.median(queued):7.1f}")

    client = TestClient(app)
    auth = {"Authorization": f"Bearer {token}"}
    day = (now - timedelta(days=3)).date().isoformat()
    cases = {
        "no filter (peer)": {},
        "level=urgent": {"level": "urgent"},
        "serial=GW0004": {"serial": "GW0004"},
        "q=grid": {"q": "grid"},
        "all, a day in Europe/Berlin": {
            "level": "important",
            "serial": "GW00",
            "q": "message 1",
            "since": f"{day}T00:00:00+01:00",
            "until": f"{day}T23:59:59+01:00",
        },
    }
    print(f"GET /api/v1/alarms on {ALARMS:,} alarms of {SITES} sites (median of {RUNS}, ms):")
    for name, params in cases.items():
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            r = client.get("/api/v1/alarms", params={"status": "all", **params}, headers=auth)
            times.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, r.text
        print(f"  {name:32s} {statistics.median(times):7.1f}   ({r.json()['total']} match)")


if __name__ == "__main__":
    main()
