"""OCPP 1.6 meter samples to telemetry points, statuses (protocols.ocpp.v16_words), session
energy and charger status (domain.charging)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.charging import ConnectorStatus, charger_status, session_energy_wh
from voltfleet.domain.fleet import DeviceStatus
from voltfleet.domain.telemetry.points import CATALOGUE
from voltfleet.protocols.ocpp.v16_words import (
    Mapped,
    Sample,
    Skipped,
    connector_status,
    is_fault,
    map_meter_value,
    map_sample,
    parse_timestamp,
    power_w,
    register_wh,
)

E, P, A, V = "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage"


@pytest.mark.parametrize(
    ("sample", "want"),
    [
        # measurand absent: the energy register; unit absent: Wh
        (Sample("1234"), Mapped("ev_energy_wh", 1234.0, "Wh")),
        (Sample("12.5", E, "kWh"), Mapped("ev_energy_wh", 12500.0, "Wh")),
        (Sample("7.4", P, "kW"), Mapped("ev_power_w", 7400.0, "W")),
        (Sample("3680", P), Mapped("ev_power_w", 3680.0, "W")),
        (Sample("16", A), Mapped("ev_current_a", 16.0, "A")),
        (Sample("16", A, "A", "L2"), Mapped("ev_current_l2_a", 16.0, "A")),
        (Sample("15.9", A, "A", "L3-N"), Mapped("ev_current_l3_a", 15.9, "A")),
        (Sample("229.8", V, "V", "L1-N"), Mapped("ev_voltage_l1_v", 229.8, "V")),
        (Sample("230", V), Mapped("ev_voltage_v", 230.0, "V")),
        (Sample("64", "SoC", "Percent", location="EV"), Mapped("ev_soc", 0.64, "fraction")),
        (Sample("64", "SoC"), Mapped("ev_soc", 0.64, "fraction")),
        # not convertible: kept as sent, so the ingest pipeline quarantines it with its reason
        (Sample("n/a", P, "W"), Mapped("ev_power_w", "n/a", "W")),
        (Sample("NaN", E), Mapped("ev_energy_wh", "NaN", "Wh")),
        (Sample("5", E, "W"), Mapped("ev_energy_wh", "5", "W")),
    ],
)
def test_samples_map_to_catalogue_points_in_canonical_units(sample: Sample, want: Mapped) -> None:
    got = map_sample(sample)
    assert isinstance(got, Mapped)
    assert got.point == want.point and got.unit == want.unit
    assert got.value == (pytest.approx(want.value) if isinstance(want.value, float) else want.value)
    # every point is in the catalogue, and a number is in its canonical unit
    point = CATALOGUE[got.point]
    if isinstance(got.value, float):
        assert point.to_canonical(got.value, got.unit) == pytest.approx(got.value)


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        (Sample("31", "Temperature", "Celsius"), "Temperature is not stored"),
        (Sample("50", "Frequency"), "Frequency is not stored"),
        (Sample("10", "Energy.Reactive.Import.Register", "kvarh"), "not stored"),
        (Sample("400", V, "V", "L1-L2"), "phase L1-L2 is not stored"),
        (Sample("1", A, "A", "N"), "phase N is not stored"),
        (Sample("100", E, "Wh", "L1"), "per-phase is not stored"),
        (Sample("AB12", E, format="SignedData"), "SignedData values are not decoded"),
    ],
)
def test_what_is_not_stored_says_why(sample: Sample, reason: str) -> None:
    got = map_sample(sample)
    assert isinstance(got, Skipped) and reason in got.reason


def test_per_phase_power_is_summed_only_without_a_total() -> None:
    phases = [Sample("2.3", P, "kW", p) for p in ("L1", "L2", "L3")]
    mapped, skipped = map_meter_value([Sample("100", E), *phases])
    assert [m.point for m in mapped] == ["ev_energy_wh", "ev_power_w"]
    assert mapped[1].value == pytest.approx(6900.0) and not skipped
    mapped, skipped = map_meter_value([Sample("7000", P), *phases])
    assert [(m.point, m.value) for m in mapped] == [("ev_power_w", 7000.0)]
    assert len(skipped) == 3 and "total power is sent" in skipped[0].reason
    mapped, skipped = map_meter_value([Sample("2300", P, "W", "L1"), Sample("x", P, "W", "L2")])
    assert mapped == [] and len(skipped) == 2 and "not a number" in skipped[0].reason


def test_a_point_sent_twice_in_one_meter_value_is_kept_once() -> None:
    mapped, _ = map_meter_value(
        [Sample("10", P, location="Outlet"), Sample("11", P, location="Inlet")]
    )
    assert [(m.point, m.value) for m in mapped] == [("ev_power_w", 10.0)]


def test_register_and_power_of_a_meter_value() -> None:
    samples = [Sample("2.5", E, "kWh"), Sample("1", E, "Wh", "L1"), Sample("3.7", P, "kW")]
    assert register_wh(samples) == 2500.0 and power_w(samples) == 3700.0
    assert register_wh([Sample("x", E)]) is None and power_w([Sample("5", A)]) is None


def test_session_energy() -> None:
    assert session_energy_wh(1000.0, 1300.0) == 300.0
    assert session_energy_wh(1000.0, 1000.0) == 0.0
    assert session_energy_wh(1000.0, 999.0) is None  # register went backwards: unknown
    assert session_energy_wh(float("nan"), 5.0) is None


def test_timestamps_need_an_offset() -> None:
    assert parse_timestamp("2026-03-02T10:00:00Z") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    berlin = parse_timestamp("2026-03-02T11:00:00+01:00")
    assert berlin == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert berlin is not None and berlin.utcoffset() == timedelta(hours=1)
    assert parse_timestamp("2026-03-02T10:00:00") is None
    assert parse_timestamp("yesterday") is None


@pytest.mark.parametrize(
    ("wire", "stored"),
    [
        ("Available", ConnectorStatus.AVAILABLE),
        ("SuspendedEVSE", ConnectorStatus.SUSPENDED_EVSE),
        ("SuspendedEV", ConnectorStatus.SUSPENDED_EV),
        ("Faulted", ConnectorStatus.FAULTED),
        ("Occupied", ConnectorStatus.UNKNOWN),  # OCPP 2.0.1's word, not 1.6's
    ],
)
def test_connector_status_from_the_wire(wire: str, stored: ConnectorStatus) -> None:
    assert connector_status(wire) is stored


C = ConnectorStatus


@pytest.mark.parametrize(
    ("connectors", "station", "want"),
    [
        ([C.AVAILABLE], None, DeviceStatus.ONLINE),
        ([C.CHARGING, C.AVAILABLE], None, DeviceStatus.RUNNING),
        ([C.SUSPENDED_EV], None, DeviceStatus.ONLINE),
        ([C.CHARGING, C.FAULTED], None, DeviceStatus.FAULT),
        ([C.AVAILABLE], C.FAULTED, DeviceStatus.FAULT),
        ([C.UNAVAILABLE, C.UNAVAILABLE], None, DeviceStatus.STANDBY),
        ([C.UNAVAILABLE], C.AVAILABLE, DeviceStatus.ONLINE),
        ([], C.UNAVAILABLE, DeviceStatus.STANDBY),
        ([], None, DeviceStatus.ONLINE),
    ],
)
def test_charger_status(
    connectors: list[ConnectorStatus], station: ConnectorStatus | None, want: DeviceStatus
) -> None:
    assert charger_status(connectors, station) is want


def test_faults() -> None:
    assert is_fault(C.FAULTED, "GroundFailure")
    assert is_fault(C.FAULTED, "NoError")
    assert is_fault(C.AVAILABLE, "HighTemperature")  # a warning while still available
    assert not is_fault(C.CHARGING, "NoError")
