"""The edge agent's pure parts: its configuration refuses what cannot work with a clear message,
the outbox keeps readings until they are acknowledged (and its tally across reopenings), the
mapping turns SunSpec values into the platform's points with DESIGN.md's signs."""

from __future__ import annotations

from pathlib import Path

import pytest

from voltfleet.edge import mapping
from voltfleet.edge.config import ConfigError, from_mapping, load, parse_units
from voltfleet.edge.outbox import Outbox
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec.scan import FoundDevice, ModelAt


def test_configuration_is_checked() -> None:
    ok = from_mapping({"serial": "GW1", "token": "t", "broker_url": "mqtt://h:1883"})
    assert ok.modbus.host == "127.0.0.1" and ok.unit_ids == (1, 2, 3)
    assert parse_units("1-3,7") == (1, 2, 3, 7)
    for bad, why in [
        ({"serial": "GW1", "token": "t"}, "exactly one of broker_url"),
        ({"serial": "GW1", "token": "t", "broker_url": "x", "platform_url": "y"}, "exactly one"),
        ({"serial": "", "token": "t", "broker_url": "x"}, "serial and token"),
        ({"serial": "G", "token": "t", "broker_url": "x", "unit_ids": "0,300"}, "1..247"),
        ({"serial": "G", "token": "t", "broker_url": "x", "colour": "red"}, "unknown setting"),
        ({"serial": "G", "token": "t", "broker_url": "x", "serial_port": "/dev/ttyUSB0",
          "connections": 2}, "1 on a serial port"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError, match=why):
            from_mapping(bad)


def test_a_toml_file_and_flags(tmp_path: Path) -> None:
    f = tmp_path / "edge.toml"
    f.write_text('[edge]\nserial = "GW1"\ntoken = "t"\nplatform_url = "http://x"\npoll_s = 5\n')
    c = load(f, {"poll_s": 2.5, "unit_ids": "4-5"})
    assert (c.serial, c.poll_s, c.unit_ids) == ("GW1", 2.5, (4, 5))
    f.write_text("[edge\n")
    with pytest.raises(ConfigError):
        load(f, {})


def test_the_outbox_keeps_readings_until_they_are_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    box = Outbox(path)
    r = {
        "device": "D",
        "point": "pv_power_w",
        "ts": "2026-01-01T00:00:00Z",
        "value": 1,
        "unit": "W",
    }
    box.put([r, r])
    box.put([r])
    seqs, body, n = box.peek(2)
    assert n == 2 and len(seqs) == 1 and body.startswith("[{")
    box.close()
    box = Outbox(path)  # as after a restart: nothing acknowledged is gone
    assert box.pending() == 3
    seqs, _, n = box.peek(10)
    assert n == 3
    box.done(seqs, n)
    assert box.pending() == 0 and box.tally() == {"put": 3, "sent": 3}
    box.remember("c1", {"status": "acknowledged"})
    assert box.reply_of("c1") == {"status": "acknowledged"} and box.reply_of("c2") is None


def test_battery_sign_and_unimplemented_points() -> None:
    regs = ss.model_image(802, {"SoC_SF": -1, "W_SF": 0, "V_SF": -1, "SoC": 555, "W": -2000})
    dev = FoundDevice(2, 40000, (ModelAt(1, 40002, 66), ModelAt(802, 40070, 62)), "M", "B",
                      "BAT1", "1", "battery")  # fmt: skip
    plan = mapping.plan(dev, battery_on_bus=True)
    out = {x["point"]: x["value"] for x in mapping.readings(plan, regs, "t")}
    # SunSpec: W < 0 flows into the battery; the platform: battery_power_w > 0 is charging
    assert out == {"soc": 55.5, "battery_power_w": 2000.0}  # V not implemented: not sent
