"""domain.registers and the register commands of domain.commands: values checked against a map
(writable, range, step), vendor maps read with the line and reason of a fault, words."""

from __future__ import annotations

import pytest

from voltfleet.domain import commands as dc
from voltfleet.domain import registers as dr
from voltfleet.protocols.sunspec_maps import map_for_kind, model_map

VENDOR_CSV = """group,address,name,label,unit,type,scale,offset,min,max,step,register,access
Grid,40100,ExportLimit,Export limit,W,uint16,10,0,0,12000,100,holding,RW
Grid,40101,GridFreq,Grid frequency,Hz,uint16,0.01,,,,,input,R
Battery,40102,ChargeFromGrid,Grid charge power,W,int32,1,,-10000,10000,100,holding,RW
Info,40110,Name,Name,,string,,,,,,holding,RW
"""
LIMITS = dc.DeviceLimits("inverter", 5000)


def test_a_vendor_map_reads_and_converts_values_to_words() -> None:
    m = dr.parse_csv("v.csv", VENDOR_CSV)
    assert [p.key for p in m.parameters][:3] == ["@40100", "@40101", "@40102"]
    limit = m.at(40100)
    assert limit is not None and limit.writable and limit.scale == 10
    assert dr.to_words(limit, 5000.0) == [500]
    assert dr.from_words(limit, [500]) == 5000
    grid = m.at(40102)
    assert grid is not None
    assert dr.to_words(grid, -200.0) == [0xFFFF, 0xFF38]
    assert dr.from_words(grid, [0xFFFF, 0xFF38]) == -200
    assert m.groups() == ["Battery", "Grid", "Info"]
    assert [p.name for p in m.search("grid")] == ["ExportLimit", "GridFreq", "ChargeFromGrid"]
    assert [p.name for p in m.search("power", group="Battery")] == ["ChargeFromGrid"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("address,name\n1,x\n", "line 1: the header lacks group"),
        ("group,address,name\nA,1,x\nA,abc,y\n", "line 3: address must be a number"),
        ("group,address,name\nA,1,x\nA,1,y\n", "line 3: address 1 is already used by x"),
        ("group,address,name,type\nA,1,x,float64\n", "line 2: type 'float64' is not one of"),
        ("group,address,name,min,max\nA,1,x,5,2\n", "line 2: min 5 is above max 2"),
        (
            "group,address,name,register,access\nA,1,x,input,RW\n",
            "line 2: an input register cannot be writable",
        ),
        ("group,address,name,colour\nA,1,x,red\n", "line 2: unknown column(s) colour"),
        ("group,address,name\n", "the map has no parameters"),
        ("group,address,name\nA,1,x,extra\n", "line 2: more fields than the header has"),
    ],
)
def test_a_bad_vendor_csv_is_refused_with_its_line_and_reason(text: str, reason: str) -> None:
    with pytest.raises(dr.RegisterError) as got:
        dr.parse_csv("bad.csv", text)
    assert str(got.value).startswith(reason), str(got.value)


def test_a_json_vendor_map_names_the_bad_entry() -> None:
    ok = dr.parse_json("v.json", {"parameters": [{"group": "A", "address": 7, "name": "x"}]})
    assert ok.at(7) is not None and not ok.at(7).writable  # type: ignore[union-attr]
    with pytest.raises(dr.RegisterError, match=r"parameters\[1\]: name is required"):
        dr.parse_json(
            "v.json", [{"group": "A", "address": 7, "name": "x"}, {"group": "A", "address": 8}]
        )


def test_sunspec_maps_come_from_the_pysunspec2_model_definitions() -> None:
    inverter = map_for_kind("inverter")
    assert inverter is not None
    assert {"Common (1)", "Storage (124)", "DER AC Controls (704)"} <= set(inverter.groups())
    pct = inverter.point(704, "WMaxLimPct")
    assert pct is not None and pct.writable and (pct.minimum, pct.maximum) == (0, 100)
    assert pct.scale_factor == "WMaxLimPct_SF"
    assert inverter.point(704, "PFWInj.PF") is not None  # a point inside a group
    watts = inverter.point(103, "W")
    assert watts is not None and not watts.writable
    assert all(p.name not in ("ID", "L") for p in model_map(1).parameters)
    meter = map_for_kind("meter")
    assert (
        meter is not None
        and meter.point(203, "W") is not None
        and meter.point(124, "WChaMax") is None
    )


def test_register_write_is_checked_against_the_map() -> None:
    m = map_for_kind("inverter")
    ok = dc.validate(
        "register_write", {"model": 704, "point": "WMaxLimPct", "value": 60}, LIMITS, m
    )
    assert ok.params == {"model": 704, "point": "WMaxLimPct", "value": 60}
    refusals = [
        ({"model": 704, "point": "WMaxLimPct", "value": 101}, "out of range 0..100"),
        ({"model": 103, "point": "W", "value": 1}, "is read-only"),
        ({"model": 704, "point": "Nope", "value": 1}, "has no point 'Nope'"),
        ({"model": 704, "point": "WMaxLimPct"}, "value is required"),
        ({"model": 704, "point": "WMaxLimPct", "value": "x"}, "must be a number"),
        ({"model": 704, "point": "WMaxLimPctEna", "value": "MAYBE"}, "must be one of DISABLED"),
    ]
    for params, why in refusals:
        with pytest.raises(dc.CommandError, match=why):
            dc.validate("register_write", params, LIMITS, m)
    enabled = dc.validate(
        "register_write", {"model": 704, "point": "WMaxLimPctEna", "value": "ENABLED"}, LIMITS, m
    )
    assert enabled.params["value"] == 1


def test_a_vendor_register_write_is_scaled_to_words_on_its_step() -> None:
    m = dr.parse_csv("v.csv", VENDOR_CSV)
    got = dc.validate("register_write", {"address": 40100, "value": 4500}, LIMITS, m)
    assert got.params == {"address": 40100, "words": [450]}
    for params, why in [
        ({"address": 40100, "value": 4550}, "not a multiple of the step 100"),
        ({"address": 40100, "value": 12100}, "out of range 0..12000"),
        ({"address": 40101, "value": 50}, "Grid frequency is read-only"),
        ({"address": 40100, "words": [1201]}, "out of range"),
        ({"address": 40999, "value": 1}, "no register at address 40999"),
    ]:
        with pytest.raises(dc.CommandError, match=why):
            dc.validate("register_write", params, LIMITS, m)
    words = dc.validate("register_write", {"address": 40100, "words": [1200]}, LIMITS, m)
    assert words.params == {"address": 40100, "words": [1200]}
    text = dc.validate("register_write", {"address": 40110, "value": "ab"}, LIMITS, m)
    assert text.params["words"] == [0x6162]


def test_register_read_and_scan_parameters() -> None:
    m = map_for_kind("inverter")
    got = dc.validate(
        "register_read",
        {"points": [{"model": 124, "point": "WChaMax"}, {"address": 40000, "count": 2}]},
        LIMITS,
        None,  # no map: SunSpec points and addresses are passed on as given
    )
    assert got.params["points"][1] == {"address": 40000, "count": 2}
    with pytest.raises(dc.CommandError, match="model 124 has no point 'X'"):
        dc.validate("register_read", {"points": [{"model": 124, "point": "X"}]}, LIMITS, m)
    with pytest.raises(dc.CommandError, match=r"points must be a list of 1\.\.100"):
        dc.validate("register_read", {"points": []}, LIMITS, m)
    gw = dc.DeviceLimits("gateway")
    assert dc.validate("scan", {}, gw).params == {}
    assert dc.validate("scan", {"unit_ids": [3, 1, 3]}, gw).params == {"unit_ids": [1, 3]}
    with pytest.raises(dc.CommandError, match=r"unit_ids must be a whole number 1\.\.247"):
        dc.validate("scan", {"unit_ids": [0]}, gw)
    with pytest.raises(dc.CommandError, match="a inverter does not take scan"):
        dc.validate("scan", {}, LIMITS)


def test_an_integer_beyond_any_float_is_refused_not_a_crash() -> None:
    huge = 10**400
    with pytest.raises(dc.CommandError, match="battery_power_w must be a number of watts"):
        dc.validate("battery_setpoint", {"battery_power_w": huge}, dc.DeviceLimits("battery"))
    m = map_for_kind("inverter")
    with pytest.raises(dc.CommandError, match="WMaxLimPct must be a number"):
        dc.validate(
            "register_write", {"model": 704, "point": "WMaxLimPct", "value": huge}, LIMITS, m
        )
    with pytest.raises(dr.RegisterError, match="line 2: min must be a finite number"):
        dr.parse_csv("x.csv", f"group,address,name,min\nA,1,x,{huge}\n")
