"""TOU mode's holiday rule on the edge agent (issue 15): with the site's country configured, a
public holiday (the ``holidays`` package's calendar) runs the slots the table's rule says (the
weekend's, or the weekday's), when the command arrives and when the day turns; without a country
it runs as its weekday. Against the simulated hybrid inverter on a real pymodbus server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.edge.test_edge_modes import BERLIN, TOU
from voltfleet.edge.commands import Executor
from voltfleet.edge.config import ConfigError, from_mapping
from voltfleet.edge.outbox import Outbox
from voltfleet.edge.tou_runner import TouRunner
from voltfleet.protocols.modbus.link import LinkConfig, ModbusLink
from voltfleet.protocols.sunspec import scan
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_bus import SunSpecBus

UNITY_DAY = datetime(2031, 10, 3, 12, 0, tzinfo=BERLIN)  # a Friday, a public holiday in Germany
EVE = datetime(2031, 10, 2, 12, 0, tzinfo=BERLIN)  # the Thursday before: a working day
ASSUMPTION = datetime(2031, 8, 15, 12, 0, tzinfo=BERLIN)  # a Friday; a holiday in Saarland


def _modes(tmp_path: Path, country: str, subdivision: str, rule: str) -> dict[str, Any]:
    bus = SunSpecBus(make_homes(1, seed=5), "SIMH")
    inv = bus.homes[0].inverter.serial
    clock = [UNITY_DAY.astimezone(UTC)]

    async def scenario() -> dict[str, Any]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        outbox = Outbox(tmp_path / f"o-{country}-{rule}.db")
        out: dict[str, Any] = {}
        try:
            found = {d.serial: d for d in [await scan.scan(link, u) for u in (1, 2, 3)]}

            async def rescan(units: list[int] | None) -> int:
                return 3

            tou = TouRunner(link, lambda: found, BERLIN, outbox, lambda: clock[0], country,
                            subdivision)  # fmt: skip
            ex = Executor(link, lambda: found, rescan, lambda: clock[0], tou)
            table = {**TOU, "holidays": rule}
            body = {"kind": "work_mode", "device": inv, "params": {"mode": "tou", "tou": table}}
            reply = await ex.run(body)
            assert reply["status"] == "acknowledged", reply
            out["holiday"] = reply["details"]["active_mode"]
            clock[0] = EVE.astimezone(UTC)  # the day before: a working day
            await tou.tick()
            out["eve"] = tou.base
            clock[0] = UNITY_DAY.replace(hour=9).astimezone(UTC)  # the holiday's morning
            await tou.tick()
            out["holiday_tick"] = tou.base
            clock[0] = ASSUMPTION.astimezone(UTC)
            await tou.tick()
            out["assumption"] = tou.base
            return out
        finally:
            outbox.close()
            link.close()
            await bus.server.stop()

    return dict(asyncio.run(asyncio.wait_for(scenario(), 30)))


def test_a_public_holiday_runs_the_slots_the_holiday_rule_says(tmp_path: Path) -> None:
    # TOU's weekday slot is PV mode, its weekend slot full feed-in
    de = _modes(tmp_path, "DE", "", "weekend")
    assert de == {
        "holiday": "full_feed_in",  # 3 October: the weekend's slots
        "eve": "pv",
        "holiday_tick": "full_feed_in",
        "assumption": "pv",  # not a holiday in Germany as a whole
    }
    as_weekday = _modes(tmp_path, "DE", "", "weekday")
    assert as_weekday["holiday"] == "pv" and as_weekday["holiday_tick"] == "pv"
    unknown = _modes(tmp_path, "", "", "weekend")  # no country: a holiday runs as its weekday
    assert unknown["holiday"] == "pv"
    saarland = _modes(tmp_path, "DE", "SL", "weekend")  # Saarland keeps Assumption Day
    assert saarland["assumption"] == "full_feed_in"


def test_the_country_must_have_a_holiday_calendar() -> None:
    base = {"serial": "GW", "token": "t", "broker_url": "mqtt://127.0.0.1:1883"}
    assert from_mapping({**base, "country": "AT", "subdivision": "9"}).country == "AT"
    with pytest.raises(ConfigError, match="no public holiday calendar"):
        from_mapping({**base, "country": "XX"})
    with pytest.raises(ConfigError, match="no public holiday calendar"):
        from_mapping({**base, "country": "DE", "subdivision": "ZZ"})
