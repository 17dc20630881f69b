"""The charging use case against an in-memory repository (no database, no OCPP): sessions,
their energy, repeats and lost stops, presence and faults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from voltfleet.domain.charging import ConnectorStatus
from voltfleet.domain.device_status import StatusEvent
from voltfleet.domain.telemetry.quarantine import IncomingReading
from voltfleet.usecases import charging as uc

T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


@dataclass
class Charger:
    id: str = "c1"
    site_id: str = "s1"
    serial: str = "EVC1"
    model: str = ""
    fw_arm: str = ""
    last_seen: datetime | None = None


@dataclass
class Row:
    connector_id: int
    transaction_id: int
    started_at: datetime
    meter_start_wh: float
    transaction_ref: str | None = None
    stopped_at: datetime | None = None
    meter_stop_wh: float | None = None
    meter_last_wh: float | None = None
    energy_wh: float | None = None
    power_w: float | None = None
    stop_reason: str = ""
    updated_at: datetime = T0


@dataclass
class Repo:
    rows: list[Row] = field(default_factory=list)
    events: list[StatusEvent] = field(default_factory=list)
    connectors: dict[int, ConnectorStatus] = field(default_factory=dict)
    readings: list[IncomingReading] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    cleared: int = 0

    def presence(self, charger: Charger, event: StatusEvent, at: datetime) -> None:
        self.events.append(event)

    def connector_statuses(self, charger: Charger) -> dict[int, ConnectorStatus]:
        return dict(self.connectors)

    def set_connector_status(
        self, charger: Charger, connector_id: int, status: ConnectorStatus
    ) -> None:
        self.connectors[connector_id] = status

    def fault_raised(self, charger: Charger, report: uc.StatusReport, now: datetime) -> None:
        self.faults.append(report.alarm_code or report.error_code)

    def faults_cleared(
        self, charger: Charger, connector_id: int, at: datetime, now: datetime
    ) -> None:
        self.cleared += 1

    def session_by_transaction(self, charger: Charger, transaction_id: int) -> Row | None:
        return next((r for r in self.rows if r.transaction_id == transaction_id), None)

    def session_by_ref(self, charger: Charger, ref: str) -> Row | None:
        return next((r for r in self.rows if r.transaction_ref == ref), None)

    def session_started(
        self, charger: Charger, connector_id: int, at: datetime, meter: float
    ) -> Row | None:
        return next(
            (
                r
                for r in self.rows
                if (r.connector_id, r.started_at, r.meter_start_wh) == (connector_id, at, meter)
            ),
            None,
        )

    def open_session(self, charger: Charger, connector_id: int) -> Row | None:
        return next(
            (r for r in self.rows if r.connector_id == connector_id and r.stopped_at is None), None
        )

    def new_session(self, charger: Charger, request: uc.StartRequest, now: datetime) -> Row:
        row = Row(
            request.connector_id, 100 + len(self.rows), request.timestamp,
            float(request.meter_start_wh), request.transaction_ref,
            meter_last_wh=float(request.meter_start_wh),
        )  # fmt: skip
        self.rows.append(row)
        return row

    def ingest(self, charger: Charger, readings: Sequence[IncomingReading]) -> int:
        self.readings.extend(readings)
        return 0


def start(repo: Repo, at: datetime, meter: int, ref: str | None = None) -> int:
    return uc.start_transaction(repo, Charger(), uc.StartRequest(1, "TAG", meter, at, ref), now=at)


def test_a_session_from_start_to_stop_with_its_energy() -> None:
    repo = Repo()
    tx = start(repo, T0, 1000)
    assert start(repo, T0, 1000) == tx  # sent again: the same session
    uc.meter_values(repo, Charger(), 1, tx, uc.MeterReport((), 1500.0, 7000.0), now=T0)
    stop = uc.StopRequest(tx, 2200, T0 + timedelta(hours=1), "EVDisconnected", "TAG")
    uc.stop_transaction(repo, Charger(), stop, now=T0)
    uc.stop_transaction(repo, Charger(), stop, now=T0)  # again: nothing changes
    (row,) = repo.rows
    assert (row.energy_wh, row.power_w, row.stop_reason) == (1200.0, 0.0, "EVDisconnected")
    points = [(r.point, r.value) for r in repo.readings]
    assert ("ev_energy_wh", 1000) in points and ("ev_energy_wh", 2200) in points
    assert ("ev_power_w", 0.0) in points


def test_a_lost_stop_is_closed_by_the_next_start_with_the_last_register() -> None:
    repo = Repo()
    tx = start(repo, T0, 0)
    uc.meter_values(repo, Charger(), 1, tx, uc.MeterReport((), 900.0, None), now=T0)
    start(repo, T0 + timedelta(hours=2), 950)
    first = repo.rows[0]
    assert first.stopped_at == T0 + timedelta(hours=2) and first.energy_wh == 900.0
    assert first.stop_reason == "Other"


def test_a_201_stop_without_a_register_uses_the_last_one_known() -> None:
    repo = Repo()
    start(repo, T0, 100, ref="tx-a")
    uc.meter_values(repo, Charger(), 1, None, uc.MeterReport((), 400.0, None), "tx-a", now=T0)
    stop = uc.StopRequest(
        None, None, T0 + timedelta(minutes=30), "Local", None, transaction_ref="tx-a"
    )
    uc.stop_transaction(repo, Charger(), stop, now=T0)
    assert repo.rows[0].energy_wh == 300.0


def test_a_fault_is_raised_and_a_clean_status_clears_it() -> None:
    repo = Repo()
    charger = Charger()
    faulted = uc.StatusReport(
        1,
        ConnectorStatus.FAULTED,
        "GroundFailure",
        T0,
        fault=True,
        alarm_code="EVC_RESIDUAL_CURRENT",
    )
    uc.status(repo, charger, faulted, now=T0)
    assert repo.faults == ["EVC_RESIDUAL_CURRENT"] and repo.cleared == 0
    uc.status(repo, charger, uc.StatusReport(1, ConnectorStatus.AVAILABLE, "NoError", T0), now=T0)
    assert repo.cleared == 1 and charger.last_seen == T0


def test_boot_keeps_what_the_charger_says_and_marks_it_present() -> None:
    repo = Repo()
    charger = Charger()
    uc.boot(repo, charger, uc.BootInfo("ACME", "W11", firmware="1.2"), now=T0)
    assert (charger.model, charger.fw_arm) == ("ACME W11", "1.2")
    assert repo.events == [StatusEvent.SPOKE]
