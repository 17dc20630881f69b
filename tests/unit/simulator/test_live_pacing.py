"""A simulated gateway told to send live data paces its live batches by the interval it was told
(issue 19): due at once, then every interval, until the request runs out or is switched off; a
live batch carries the newest powers and state of charge, never a counter."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.unit.simulator.test_model import home
from tests.unit.simulator.test_readings import ACC
from voltfleet.simulator.fleet import LIVE_POINTS, live_readings
from voltfleet.simulator.live_data import Reporting
from voltfleet.simulator.model import StepInput, initial_state, step

TS = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_live_batches_follow_the_interval_the_gateway_was_told() -> None:
    r = Reporting(normal_s=300.0)
    assert r.next_live(0.0) is None and not r.live_due(0.0)  # no request: the fleet's own pace
    reply = r.apply({"enabled": True, "interval_s": 2, "duration_s": 10}, 100.0)
    assert reply["status"] == "acknowledged" and r.interval_s(100.0) == 2.0
    assert r.live_due(100.0) and r.next_live(100.0) == 100.0  # the first at once
    sent = []
    t = 100.0
    while t < 115.0:
        if r.live_due(t):
            r.sent_live(t)
            sent.append(t)
        t = round(t + 0.5, 1)
    assert sent == [100.0, 102.0, 104.0, 106.0, 108.0]  # every 2 s until it ran out at 110
    assert r.next_live(110.0) is None and r.interval_s(110.0) == 300.0
    # switched on again, then off: nothing more is due
    r.apply({"enabled": True, "interval_s": 1, "duration_s": 60}, 200.0)
    assert r.live_due(200.0)
    r.sent_live(200.0)
    assert not r.live_due(200.5) and r.next_live(200.5) == 201.0
    r.apply({"enabled": False}, 200.6)
    assert r.next_live(201.0) is None and r.last_live is None


def test_a_live_batch_has_the_newest_powers_and_no_counter() -> None:
    spec = home()
    _, s = step(spec, initial_state(spec), StepInput(3000.0, 500.0), TS, 60.0)
    got = {x["point"]: x for x in live_readings(ACC, TS, s)}
    assert set(got) == LIVE_POINTS
    assert got["pv_power_w"]["value"] == round(s.pv_w, 1)
    assert all(x["ts"] == TS.isoformat() for x in got.values())
