"""Working modes, the TOU table and the intelligent-load switch (domain/work_modes.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltfleet.domain import commands as dc
from voltfleet.domain.work_modes import (
    BaseMode,
    LoadMode,
    WorkModeError,
    check_load,
    check_tou,
    check_work_mode,
    load_on,
    tou_mode_at,
    tou_params,
)

WINTER_SUMMER: dict[str, Any] = {
    "grid_charge": True,
    "grid_charge_power_w": 3000,
    "grid_charge_start": "23:00",
    "grid_charge_end": "05:00",
    "anti_feedback": True,
    "feed_in_limit_w": 6000,
    "holidays": "weekend",
    "seasons": [
        {
            "name": "Winter",
            "from": "10-01",
            "to": "03-31",
            "weekday": [{"start": "17:00", "end": "21:00", "mode": "full_feed_in"}],
            "weekend": [{"start": "10:00", "end": "24:00", "mode": "pv"}],
        },
        {
            "name": "Summer",
            "from": "04-01",
            "to": "09-30",
            "weekday": [{"start": "06:00", "end": "10:00", "mode": "pv"}],
            "weekend": [],
        },
    ],
}


def test_a_tou_table_reads_back_to_the_same_table() -> None:
    tou = check_tou(WINTER_SUMMER)
    assert check_tou(tou_params(tou)) == tou
    assert tou_params(tou) == WINTER_SUMMER


@pytest.mark.parametrize(
    ("local", "holiday", "expected"),
    [
        (datetime(2026, 1, 14, 18, 0), False, BaseMode.FULL_FEED_IN),  # winter weekday evening
        (datetime(2026, 1, 14, 12, 0), False, BaseMode.SELF_CONSUMPTION),  # no slot
        (datetime(2026, 1, 17, 18, 0), False, BaseMode.PV),  # a Saturday: weekend slots
        (datetime(2026, 1, 14, 18, 0), True, BaseMode.PV),  # a holiday counts as weekend
        (datetime(2026, 1, 14, 23, 30), False, BaseMode.GRID_CHARGE),  # window over midnight
        (datetime(2026, 1, 15, 4, 59), False, BaseMode.GRID_CHARGE),
        (datetime(2026, 1, 15, 5, 0), False, BaseMode.SELF_CONSUMPTION),  # the end is open
        (datetime(2026, 7, 1, 7, 0), False, BaseMode.PV),  # summer weekday
        (datetime(2026, 3, 31, 18, 0), False, BaseMode.FULL_FEED_IN),  # last day of winter
        (datetime(2026, 4, 1, 18, 0), False, BaseMode.SELF_CONSUMPTION),  # first of summer
    ],
)
def test_the_base_mode_follows_season_day_category_and_grid_window(
    local: datetime, holiday: bool, expected: BaseMode
) -> None:
    assert tou_mode_at(check_tou(WINTER_SUMMER), local, holiday=holiday) is expected


def _with(**changes: Any) -> dict[str, Any]:
    return {**WINTER_SUMMER, **changes}


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        (_with(grid_charge_power_w=10_100), "tou.grid_charge_power_w", "0..10000"),
        (_with(grid_charge_power_w=1550), "tou.grid_charge_power_w", "steps of 100"),
        (_with(feed_in_limit_w=-100), "tou.feed_in_limit_w", "0..12000"),
        (_with(grid_charge_power_w=0), "tou.grid_charge_power_w", "above 0 W"),
        (_with(grid_charge_start="25:00"), "tou.grid_charge_start", "HH:MM"),
        (_with(holidays="never"), "tou.holidays", "weekend"),
        (_with(seasons=[]), "tou.seasons", "1..4"),
        (_with(colour="red"), "tou.colour", "unknown"),
        (
            _with(seasons=[{"from": "01-01", "to": "06-30"}, {"from": "06-30", "to": "12-31"}]),
            "tou.seasons[1].from",
            "overlaps",
        ),
        (
            _with(
                seasons=[
                    {
                        "weekday": [
                            {"start": "06:00", "end": "10:00", "mode": "pv"},
                            {"start": "09:00", "end": "11:00", "mode": "pv"},
                        ]
                    }
                ]
            ),
            "tou.seasons[0].weekday",
            "overlap",
        ),
        (
            _with(seasons=[{"weekday": [{"start": "10:00", "end": "09:00", "mode": "pv"}]}]),
            "tou.seasons[0].weekday[0].end",
            "end after",
        ),
        (
            _with(seasons=[{"weekday": [{"start": "10:00", "end": "11:00", "mode": "dance"}]}]),
            "tou.seasons[0].weekday[0].mode",
            "grid_charge",
        ),
        (_with(seasons=[{"from": "02-30"}]), "tou.seasons[0].from", "MM-DD"),
    ],
)
def test_a_wrong_tou_table_is_refused_naming_the_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(WorkModeError) as err:
        check_tou(params)
    assert err.value.field == field
    assert words in str(err.value)


def test_work_mode_commands_are_checked_for_inverters_only() -> None:
    inverter = dc.DeviceLimits("inverter")
    got = dc.validate("work_mode", {"mode": "full_feed_in"}, inverter)
    assert got.params == {"mode": "full_feed_in"}
    got = dc.validate("work_mode", {"mode": "tou", "tou": WINTER_SUMMER}, inverter)
    assert got.params["tou"] == WINTER_SUMMER
    with pytest.raises(dc.CommandError) as err:
        dc.validate("work_mode", {"mode": "pv", "tou": WINTER_SUMMER}, inverter)
    assert err.value.field == "tou"
    with pytest.raises(dc.CommandError) as err:
        dc.validate("work_mode", {"mode": "turbo"}, inverter)
    assert "emergency_charging" in str(err.value)
    with pytest.raises(dc.CommandError) as err:
        dc.validate("work_mode", {"mode": "pv"}, dc.DeviceLimits("meter"))
    assert err.value.field == "kind"
    with pytest.raises(dc.CommandError) as err:
        dc.validate("power_switch", {"on": "yes"}, inverter)
    assert err.value.field == "on"
    assert dc.validate("power_switch", {"on": False}, inverter).params == {"on": False}
    with pytest.raises(dc.CommandError) as err:
        dc.validate(
            "intelligent_load",
            {"mode": "battery", "on_above_soc_pct": 50, "off_below_soc_pct": 60},
            inverter,
        )
    assert err.value.field == "off_below_soc_pct"


def test_the_battery_relay_keeps_its_state_inside_the_hysteresis_band() -> None:
    load = check_load({"mode": "battery", "on_above_soc_pct": 80, "off_below_soc_pct": 50})
    at = datetime(2026, 6, 1, 12, 0)
    path = [40, 60, 85, 70, 55, 49, 60]
    states = []
    on = False
    for soc in path:
        on = load_on(load, was_on=on, local=at, soc_pct=soc)
        states.append(on)
    assert states == [False, False, True, True, True, False, False]
    assert not load_on(load, was_on=True, local=at, soc_pct=None)  # unknown: safe off


def test_the_surplus_relay_holds_its_minimum_on_time() -> None:
    load = check_load(
        {"mode": "surplus", "on_above_w": 2500, "off_below_w": 200, "min_on_minutes": 15}
    )
    at = datetime(2026, 6, 1, 12, 0)
    assert load_on(load, was_on=False, local=at, export_w=2600)
    assert not load_on(load, was_on=False, local=at, export_w=2400)
    # on, importing now, but only 5 minutes on: it stays on
    assert load_on(load, was_on=True, local=at, export_w=-300, on_for_minutes=5)
    assert not load_on(load, was_on=True, local=at, export_w=-300, on_for_minutes=20)
    assert load_on(load, was_on=True, local=at, export_w=300, on_for_minutes=20)  # in the band


def test_time_and_manual_relays() -> None:
    night = check_load({"mode": "time", "start": "22:00", "end": "06:00"})
    assert load_on(night, was_on=False, local=datetime(2026, 6, 1, 23, 0))
    assert not load_on(night, was_on=True, local=datetime(2026, 6, 1, 12, 0))
    assert load_on(check_load({"mode": "manual", "on": True}), was_on=False, local=datetime.now())
    assert check_load({"mode": "off"}).mode is LoadMode.OFF
    with pytest.raises(WorkModeError) as err:
        check_load({"mode": "time", "start": "10:00"})
    assert err.value.field == "end"


slot_times = st.integers(0, 23).map(lambda h: f"{h:02d}:00")


@given(
    power=st.integers(0, 100).map(lambda k: k * 100),
    start=slot_times,
    end=slot_times,
    holidays=st.sampled_from(["weekend", "weekday"]),
)
def test_any_valid_table_reads_back_the_same(
    power: int, start: str, end: str, holidays: str
) -> None:
    params = {
        "grid_charge": power > 0 and start != end,
        "grid_charge_power_w": power,
        "grid_charge_start": start,
        "grid_charge_end": end,
        "anti_feedback": False,
        "feed_in_limit_w": 12000,
        "holidays": holidays,
        "seasons": [
            {"name": "All year", "from": "01-01", "to": "12-31", "weekday": [], "weekend": []}
        ],
    }
    assert tou_params(check_tou(params)) == params
    assert check_work_mode({"mode": "tou", "tou": params})["tou"] == params
