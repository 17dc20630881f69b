"""The edge agent sends an inverter's SunSpec ``WH`` (its lifetime energy register) as the PV
counter and as the lifetime yield counter the portal's "total yield" reads (issue 19)."""

from __future__ import annotations

from voltfleet.edge import mapping
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec.scan import FoundDevice, ModelAt


def test_wh_is_sent_as_the_lifetime_yield() -> None:
    regs = ss.model_image(103, {"WH_SF": 0, "WH": 7_482_500, "W_SF": 0, "W": 1200})
    dev = FoundDevice(1, 40000, (ModelAt(1, 40002, 66), ModelAt(103, 40070, 50)), "M", "I",
                      "INV1", "1", "inverter")  # fmt: skip
    plan = mapping.plan(dev, battery_on_bus=False)
    out = {x["point"]: x["value"] for x in mapping.readings(plan, regs, "t")}
    assert out["pv_energy_wh"] == 7_482_500 and out["lifetime_yield_wh"] == 7_482_500
    assert out["ac_power_w"] == 1200
