"""The edge agent's read planning (edge/reads.py) and its precomputed mapping: a device is read in
as few spans of at most 125 registers as cover what its points need, and its readings are the
same as those of the mapping before (decoding every point through ``ss.value``)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from typing import Any

import pytest

from voltfleet.edge import mapping, reads
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec import scan
from voltfleet.protocols.sunspec.scan import FoundDevice, ModelAt
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_home import BASE, SunSpecHome


def test_pieces_next_to_each_other_or_apart_are_one_read() -> None:
    assert reads.spans([(100, 1), (101, 2), (103, 1)]) == [(100, 4)]
    # a gap is read rather than paid for with another round trip
    assert reads.spans([(100, 1), (150, 2)]) == [(100, 52)]
    assert reads.spans([(150, 2), (100, 1), (100, 1)]) == [(100, 52)]  # any order, repeats
    assert reads.spans([(100, 2), (101, 1)]) == [(100, 2)]  # overlapping pieces
    assert reads.spans([]) == []


def test_a_read_holds_at_most_125_registers_and_never_splits_a_piece() -> None:
    assert reads.spans([(0, 1), (124, 1)]) == [(0, 125)]  # exactly 125: one read
    assert reads.spans([(0, 1), (125, 1)]) == [(0, 1), (125, 1)]  # 126: two
    assert reads.spans([(0, 1), (123, 4)]) == [(0, 1), (123, 4)]  # an acc64 is not cut
    got = reads.spans([(a, 1) for a in range(0, 400, 10)])
    assert [n for _, n in got] == [121, 121, 121, 1]
    assert all(n <= reads.MAX_READ for _, n in got)
    assert reads.spans([(0, 1), (124, 1)], max_read=60) == [(0, 1), (124, 1)]
    with pytest.raises(ValueError):
        reads.spans([(0, 126)])


# ---- the mapping as it was before the plans were precomputed (its semantics, kept here) -------


def _before(device: FoundDevice, battery_on_bus: bool, regs: Sequence[int], ts: str) -> list[Any]:
    models = [m for m in device.models if m.model_id != 1] or list(device.models)
    first = models[0].address
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for m in models:
        if m.model_id == 124 and battery_on_bus:
            continue
        lay = ss.layout(m.model_id)
        for sp, pp, unit, factor in mapping.MAPS.get(m.model_id, []):
            if sp not in lay.points or pp in seen:
                continue
            v = ss.value(lay, regs, sp, m.address - first)
            if isinstance(v, int | float):
                if pp == "pv_power_w" and v < 0:
                    v = 0.0
                seen.add(pp)
                out.append({"device": device.serial, "point": pp, "ts": ts, "value": v * factor,
                            "unit": unit})  # fmt: skip
    return out


def _home() -> tuple[SunSpecHome, dict[int, FoundDevice]]:
    home = SunSpecHome(make_homes(1, seed=3)[0], "SIMRD", first_unit=1)
    banks = {d.unit_id: d.bank for d in home.devices}

    class Reader:
        async def read(self, unit_id: int, address: int, count: int) -> list[int]:
            lo = address - BASE
            return banks[unit_id].regs[lo : lo + count]

    found = {u: asyncio.run(scan.scan(Reader(), u)) for u in banks}
    return home, found


def _block(home: SunSpecHome, dev: FoundDevice, p: mapping.Plan) -> list[int]:
    bank = next(d.bank for d in home.devices if d.unit_id == dev.unit_id)
    return bank.regs[p.first - BASE : p.first - BASE + p.count]


def test_the_simulated_devices_are_read_in_one_span_each_of_fewer_registers() -> None:
    _, found = _home()
    for battery_on_bus in (True, False):
        for dev in found.values():
            p = mapping.plan(dev, battery_on_bus)
            assert len(p.spans) == 1
            (start, n) = p.spans[0]
            assert p.first <= start and start + n <= p.first + p.count
            assert n < p.count  # only what the points and their scale factors need
    inverter = mapping.plan(found[1], battery_on_bus=True)
    assert inverter.spans[0][1] < 40  # 103's points, not 124 (a battery model is on the bus)


@pytest.mark.parametrize("battery_on_bus", [True, False])
def test_a_devices_readings_are_identical_to_before(battery_on_bus: bool) -> None:
    home, found = _home()
    rnd = random.Random(5)
    ts = "2026-12-06T12:00:00.000Z"
    for dev in found.values():
        p = mapping.plan(dev, battery_on_bus)
        block = _block(home, dev, p)
        images = [block]
        # registers at random, not implemented values (0x8000, 0xFFFF, 0 ...) among them often;
        # scale factors within SunSpec's -10..10 or not implemented
        special = [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFE, 0xFFFF, 0xFFFD, 0xFFF6, 3]
        sfs = [0x8000, *(k & 0xFFFF for k in range(-10, 11))]
        at_sf = {
            m.address - p.first + q.offset
            for m in dev.models
            if m.model_id != 1
            for q in ss.layout(m.model_id).points.values()
            if q.type == "sunssf"
        }
        for _ in range(300):
            images.append(
                [rnd.choice(sfs) if i in at_sf
                 else rnd.choice(special) if rnd.random() < 0.4 else rnd.randrange(65536)
                 for i in range(len(block))]
            )  # fmt: skip
        for regs in images:
            want = _before(dev, battery_on_bus, regs, ts)
            got = mapping.readings(p, regs, ts)
            assert got == want
            assert [type(r["value"]) for r in got] == [type(r["value"]) for r in want]
            # the outbox's JSON text, as json.dumps of the readings wrote it
            blocks = mapping.blocks_of(p, regs)
            text = mapping.json_readings(p, mapping.values(p, blocks), ts)
            assert "[" + ",".join(text) + "]" == json.dumps(want, separators=(",", ":"))
    assert any(_before(d, battery_on_bus, _block(home, d, mapping.plan(d, battery_on_bus)), ts)
               for d in found.values())  # fmt: skip


def test_a_scale_factor_and_a_point_in_different_models_spans() -> None:
    # a device with two models far apart: each model's points and scale factors in its own read
    models = (ModelAt(1, 40002, 66), ModelAt(103, 40070, 50), ModelAt(203, 40300, 105))
    dev = FoundDevice(9, 40000, models, "M", "X", "X1", "1", "inverter")
    p = mapping.plan(dev, battery_on_bus=False)
    assert len(p.spans) == 2 and all(n <= 125 for _, n in p.spans)
    regs = [0] * p.count
    inv = ss.model_image(103, {"W_SF": -1, "W": 1234})
    met = ss.model_image(203, {"W_SF": 1, "W": -50, "Hz_SF": -2, "Hz": 5001})
    regs[0 : len(inv)] = inv
    regs[300 - 70 : 300 - 70 + len(met)] = met
    out = {r["point"]: r["value"] for r in mapping.readings(p, regs, "t")}
    assert out["ac_power_w"] == 123.4
    assert out["grid_power_w"] == -500.0 and out["grid_frequency_hz"] == 50.01
    assert out == {r["point"]: r["value"] for r in _before(dev, False, regs, "t")}


def test_a_scale_factor_out_of_sunspecs_range_sends_nothing_and_the_rest_goes_on() -> None:
    # SunSpec scale factors are -10..10; 10.0 ** 32767 does not fit a float (the mapping before
    # raised OverflowError, and the poll with it)
    dev = FoundDevice(1, 40000, (ModelAt(1, 40002, 66), ModelAt(103, 40070, 50)), "M", "I",
                      "INV1", "1", "inverter")  # fmt: skip
    regs = ss.model_image(103, {"W_SF": 0, "W": 1200, "Hz_SF": 0, "Hz": 50})
    regs[ss.layout(103).point("W_SF").offset] = 0x7FFF
    out = {r["point"]: r["value"] for r in mapping.readings(mapping.plan(dev, False), regs, "t")}
    assert out == {"grid_frequency_hz": 50.0}
