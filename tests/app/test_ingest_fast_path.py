"""The ingest pipeline on real databases: batches out of order, late, with repeats and retries;
the stored readings are each key once and the incrementally merged roll-ups equal a full
recomputation from the stored samples — also when a concurrent writer got there first."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.app.test_telemetry import make_site
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry import service
from voltfleet.app.telemetry.decode import WireReading
from voltfleet.domain.telemetry.points import CATALOGUE
from voltfleet.domain.telemetry.rollup import LADDER, Resolution, average, combine, energy, span
from voltfleet.store.fleet_models import Device
from voltfleet.store.timeseries import store_for

BERLIN = ZoneInfo("Europe/Berlin")
POINTS = [("pv_energy_wh", "kWh"), ("grid_power_w", "W"), ("soc", "%")]


def _readings(serial: str, start: datetime, rng: random.Random) -> list[WireReading]:
    out = []
    level = 1000.0
    for k in range(400):
        ts = (start + timedelta(seconds=37 * k)).isoformat()
        level += rng.uniform(0, 20)
        for point, unit in POINTS:
            value = {"pv_energy_wh": level / 1000, "grid_power_w": rng.uniform(-3000, 3000)}.get(
                point, rng.uniform(0, 100)
            )
            out.append(WireReading(point=point, ts=ts, value=value, unit=unit, device=serial))
    return out


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


class _Blind:
    """A store that does not see stored instants: as if another writer stored them after this
    batch looked (the pipeline must notice and recompute)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def instants(self, spans: Any) -> dict[tuple[str, str], set[int]]:
        return {(d, p): set() for d, p, _, _ in spans}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _full_check(store: Any, device_id: str) -> None:
    for point, _ in POINTS:
        p = CATALOGUE[point]
        lo, hi = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        samples = store.read(device_id, point, lo, hi)
        start, end = span(samples[0].ts, samples[-1].ts, Resolution.FIVE_MIN, BERLIN)
        fn = energy if p.counter else average
        want = fn(samples, start, end, Resolution.FIVE_MIN, BERLIN)
        for resolution in LADDER:
            if resolution is not Resolution.FIVE_MIN:
                want = combine(want, resolution, BERLIN, is_energy=p.counter)
            got = {r.start: r for r in store.read_rollups(device_id, point, resolution, lo, hi)}
            for w in want:
                g = got.pop(w.start)
                assert g.samples == w.samples, (point, resolution, w, g)
                assert g.value == pytest.approx(w.value, rel=1e-9, abs=1e-6), (point, w, g)
                assert (g.low, g.high) == (pytest.approx(w.low), pytest.approx(w.high))
            assert all(abs(g.value) < 1e-6 and g.samples == 0 for g in got.values()), got


@pytest.mark.parametrize("blind", [False, True])
def test_shuffled_late_repeated_batches_roll_up_like_a_full_recomputation(
    client: TestClient,
    world: World,
    runtime: Runtime,
    blind: bool,
) -> None:
    gw = f"GWFAST{int(blind)}"
    ids = make_site(client, world, gw)
    rng = random.Random(7)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3, hours=5)
    everything = _readings(f"{gw}-MTR", start, rng)
    unique = len(everything)
    # batches of shuffled readings, each with repeats of earlier ones (retries)
    rng.shuffle(everything)
    batches = [everything[i : i + 300] for i in range(0, len(everything), 300)]
    batches = [
        b + rng.sample(everything[: i * 300 + 1], min(15, i * 300 + 1))
        for i, b in enumerate(batches)
    ]
    accepted = duplicates = 0
    for batch in batches:
        with runtime.db.session() as s:
            gateway = s.get(Device, ids[gw])
            store = store_for(s.connection())
            result = service.ingest(s, gateway, batch, store=_Blind(store) if blind else store)
        assert result.rejections == []
        accepted += result.accepted
        duplicates += result.duplicates
    assert accepted == unique
    assert accepted + duplicates == sum(len(b) for b in batches)
    with runtime.db.session() as s:
        _full_check(store_for(s.connection()), ids[f"{gw}-MTR"])
