"""OCPP 1.6J Smart Charging profile, one test per use case: the platform's limits as
ChargePointMaxProfile / TxDefaultProfile / TxProfile in A per phase with numberPhases and stack
levels, ClearChargingProfile, and GetCompositeSchedule to read back what the charge point
applies; through the ChargerLink port (what the power manager calls) and O&M's commands."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call

from tests.ocpp.stations import command, iso, station
from voltfleet.app.charging.charger_link import charger_link
from voltfleet.app.runtime import Runtime

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


def test_load_balancing_limit_through_the_charger_link_is_a_tx_default_profile(
    base_url: str, charger: dict[str, str], runtime: Runtime
) -> None:
    link = charger_link(runtime)

    async def run() -> tuple[bool, bool, list[Any]]:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            assert link.connected(charger["serial"])
            first = await link.set_current_limit(charger["serial"], 1, 10.0, 3)
            second = await link.set_current_limit(charger["serial"], 1, 6.0, 1)
            return first, second, cp.profiles[1]

    first, second, kept = asyncio.run(run())
    assert first and second
    assert len(kept) == 1  # the second replaced the first (same profile id)
    profile = kept[0]
    assert profile["charging_profile_purpose"] == "TxDefaultProfile"
    assert profile["charging_profile_kind"] == "Relative"
    schedule = profile["charging_schedule"]
    assert schedule["charging_rate_unit"] == "A"
    assert schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 6.0, "number_phases": 1}
    ]
    assert not link.connected(charger["serial"])


def test_charge_point_max_profile_on_connector_0(
    base_url: str, charger: dict[str, str], runtime: Runtime
) -> None:
    link = charger_link(runtime)

    async def run() -> list[Any]:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            assert await link.set_current_limit(charger["serial"], 0, 25.0, 3)
            return cp.received

    got = asyncio.run(run())
    assert got[0][0] == "SetChargingProfile" and got[0][1]["connector_id"] == 0
    assert got[0][1]["profile"]["charging_profile_purpose"] == "ChargePointMaxProfile"


def test_a_limit_to_a_charger_not_connected_is_not_accepted(
    charger: dict[str, str], runtime: Runtime
) -> None:
    assert asyncio.run(charger_link(runtime).set_current_limit(charger["serial"], 1, 6.0)) is False


def test_tx_profile_for_the_running_transaction(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    async def run() -> tuple[int, Any, list[Any]]:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            started = await cp.call(
                call.StartTransaction(
                    connector_id=1,
                    id_tag="C",
                    meter_start=0,
                    timestamp=iso(datetime.now(UTC) - timedelta(minutes=1)),
                ),
                suppress=False,
            )
            r = await command(
                base_url,
                om,
                charger["charger"],
                "set_charging_profile",
                connector_id=1,
                purpose="tx",
                limit_a=8,
                phases=3,
                stack_level=2,
            )
            return int(started.transaction_id), r, cp.profiles[1]

    tx, r, kept = asyncio.run(run())
    assert r.status_code == 200 and r.json()["status"] == "Accepted", r.text
    assert kept[0]["charging_profile_purpose"] == "TxProfile"
    assert kept[0]["transaction_id"] == tx and kept[0]["stack_level"] == 2


def test_stack_levels_and_get_composite_schedule(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    def profile(**kw: Any) -> dict[str, Any]:
        return {"connector_id": 1, "purpose": "tx_default", **kw}

    async def run() -> list[Any]:
        out = []
        async with station(base_url, charger["serial"], charger["token"]):
            for params in (
                profile(limit_a=16, stack_level=0, profile_id=10),
                profile(limit_a=10, stack_level=5, profile_id=11),
            ):
                r = await command(
                    base_url, om, charger["charger"], "set_charging_profile", **params
                )
                assert r.json()["status"] == "Accepted", r.text
            r = await command(
                base_url, om, charger["charger"], "get_composite_schedule", connector_id=1,
                duration_s=600,
            )  # fmt: skip
            out.append(r.json())
            await command(
                base_url, om, charger["charger"], "set_charging_profile", connector_id=0,
                purpose="station_max", limit_a=7, phases=3,
            )  # fmt: skip
            r = await command(
                base_url, om, charger["charger"], "get_composite_schedule", connector_id=1,
                duration_s=600,
            )  # fmt: skip
            out.append(r.json())
        return out

    higher, capped = asyncio.run(run())
    assert higher["status"] == "Accepted"
    period = higher["result"]["charging_schedule"]["charging_schedule_period"][0]
    assert period["limit"] == 10.0  # stack level 5 wins over 0
    assert capped["result"]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 7.0


def test_clear_charging_profile(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    async def run() -> tuple[Any, Any, list[Any]]:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            await command(
                base_url, om, charger["charger"], "set_charging_profile", connector_id=1,
                purpose="tx_default", limit_a=12,
            )  # fmt: skip
            cleared = await command(
                base_url, om, charger["charger"], "clear_charging_profile", purpose="tx_default"
            )
            again = await command(
                base_url, om, charger["charger"], "clear_charging_profile", purpose="tx_default"
            )
            return cleared.json(), again.json(), cp.profiles[1]

    cleared, again, kept = asyncio.run(run())
    assert cleared["status"] == "Accepted" and again["status"] == "Unknown" and kept == []


def test_a_bad_limit_is_refused_before_it_is_sent(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    async def run() -> tuple[Any, list[Any]]:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            r = await command(
                base_url, om, charger["charger"], "set_charging_profile", connector_id=1,
                purpose="tx_default", limit_a=-3,
            )  # fmt: skip
            return r, cp.received

    r, got = asyncio.run(run())
    assert r.status_code == 400 and "between 0 and" in r.json()["detail"] and got == []
