"""Firmware campaign steps on SQLite: how much of its 15 s period one step of a large campaign
takes.

Seeds one site with N gateways (all online) and a task for all of them, then times the
``firmware-task`` job's steps (load the task and its runs, apply ``domain.firmware.campaign``,
store what changed, queue a ``firmware_update`` command per started device): the step that
starts a wave of W devices, an idle step while they are under way, and the step after every
device reported success. Beside it, the baseline: the step period (15 s) and the pure domain
step alone on the same runs.

    .venv/bin/python benchmarks/bench_firmware.py [N] [W]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voltfleet.app.firmware.jobs import TaskStep
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.domain.firmware import campaign as fc
from voltfleet.settings import Settings
from voltfleet.store.db import new_id
from voltfleet.store.firmware_models import FirmwareRelease, FirmwareRun, FirmwareTask
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site
from voltfleet.usecases.firmware import ADVANCE_EVERY_S, policy_json


def main(n: int, wave: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(
        mode="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        secret_key="bench-" + "s" * 40,
    )
    runtime = build_runtime(settings)
    create_app(runtime=runtime)
    policy = fc.Policy(first_wave=wave, wave_growth=100, success_threshold=0.5)
    now = datetime.now(UTC)
    with runtime.db.session() as s:
        org = s.query(Org).first()
        assert org is not None
        site = Site(org_id=org.id, name="bench", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        ids = [new_id() for _ in range(n)]
        s.execute(
            insert(Device),
            [
                dict(
                    id=i,
                    site_id=site.id,
                    kind="gateway",
                    serial=f"B{k:06d}",
                    model="M",
                    status="online",
                )
                for k, i in enumerate(ids)
            ],
        )
        rel = FirmwareRelease(
            org_id=org.id,
            org_path=org.path,
            device_kind="gateway",
            model="M",
            firmware_type="gateway",
            version="2.0",
            file_name="f",
            size_bytes=1,
            sha256="0" * 64,
        )
        s.add(rel)
        s.flush()
        task = FirmwareTask(
            number=1,
            org_id=org.id,
            org_path=org.path,
            release_id=rel.id,
            device_kind="gateway",
            firmware_type="gateway",
            model="M",
            version="2.0",
            state="scheduled",
            policy=policy_json(policy),
            start_at=now,
        )
        s.add(task)
        s.flush()
        waves = fc.waves_of(n, policy)
        s.execute(
            insert(FirmwareRun),
            [
                dict(
                    id=new_id(),
                    task_id=task.id,
                    device_id=d,
                    position=k,
                    wave=waves[k],
                    state="pending",
                )
                for k, d in enumerate(ids)
            ],
        )
        task_id = task.id
    step = TaskStep(runtime.db, settings)

    def timed(at: datetime) -> tuple[float, int]:
        t0 = time.perf_counter()
        started = step(at, task_id)
        return (time.perf_counter() - t0) * 1000, started

    first_ms, started = timed(now)
    idle_ms, _ = timed(now + timedelta(seconds=15))
    with runtime.db.session() as s:
        s.execute(
            update(FirmwareRun)
            .where(FirmwareRun.task_id == task_id, FirmwareRun.state == "sent")
            .values(state="succeeded")
        )
    next_ms, started_next = timed(now + timedelta(seconds=30))
    runs = [fc.Run(f"d{k}", w) for k, w in enumerate(fc.waves_of(n, policy))]
    c = fc.Campaign(fc.CampaignState.RUNNING, policy, now)
    t0 = time.perf_counter()
    fc.advance(c, runs, now, lambda _: True)
    pure_ms = (time.perf_counter() - t0) * 1000
    period_ms = ADVANCE_EVERY_S * 1000
    print(f"campaign of {n} devices, first wave {wave} (SQLite):")
    print(f"  step starting {started} devices (commands queued): {first_ms:8.1f} ms")
    print(f"  idle step while they are under way:               {idle_ms:8.1f} ms")
    print(f"  step after they succeeded, starting {started_next} (its batch):{next_ms:8.1f} ms")
    print(f"  baseline: the pure domain step on {n} runs:        {pure_ms:8.1f} ms")
    print(f"  baseline: the step period:                        {period_ms:8.1f} ms")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 500,
    )
