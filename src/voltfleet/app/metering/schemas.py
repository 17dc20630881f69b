from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from voltfleet.app.instants import Instant
from voltfleet.app.tariffs.schemas import Direction

Aggregation = Literal["DAY", "WEEK", "MONTH", "YEAR"]
Rate = Literal["IMPORT", "EXPORT", "LOCAL"]
# where a savings report's figures come from: the uploaded meter records, the site's own
# telemetry (as the portal's Savings tab), or auto: the records when the window has any, else
# the telemetry of a site with a battery
SavingsSource = Literal["auto", "meter_records", "telemetry"]


class MeterRecordIn(BaseModel):
    """One metered interval. Field values are checked per record, so one bad record does not
    refuse the batch: it is listed with its reason."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site_id": "3f0c...",
                    "start_time": "2026-03-03T00:00:00Z",
                    "end_time": "2026-03-03T00:15:00Z",
                    "value": 0.38,
                    "units": "KWH",
                    "direction": "IMPORT",
                    "tariff_rate": "IMPORT",
                    "record_reference_id": "bat-1-0001",
                }
            ]
        }
    )

    site_id: str
    device_id: str | None = None
    start_time: Instant
    end_time: Instant
    value: float
    units: str = Field(description="WH | KWH (energy) or W | KW (average power)")
    direction: str = Field(description="IMPORT (into the thing metered) | EXPORT (out of it)")
    tariff_rate: str = Field(description="IMPORT | EXPORT | LOCAL: the price it is valued at")
    record_reference_id: str | None = Field(default=None, max_length=100)
    session_reference_id: str | None = Field(default=None, max_length=100)


class Refused(BaseModel):
    index: int
    record_reference_id: str | None
    code: str
    reason: str


class MeterBatchOut(BaseModel):
    accepted: int
    duplicates: int = Field(description="records whose reference was already stored or repeated")
    refused: list[Refused]


class WindowIn(BaseModel):
    start_time: Instant
    end_time: Instant


class CostLineOut(BaseModel):
    direction: Direction
    tariff_rate: Rate
    energy_kwh: float
    cost: float


class CostBucketOut(BaseModel):
    start_time: datetime
    end_time: datetime
    label: str
    energy_kwh: float
    cost: float
    lines: list[CostLineOut]


class CostReportOut(BaseModel):
    site_id: str
    device_id: str | None
    currency: str
    aggregation: Aggregation
    start_time: datetime
    end_time: datetime
    energy_kwh: float
    cost: float
    lines: list[CostLineOut]
    buckets: list[CostBucketOut]


class SavingsLineOut(BaseModel):
    imported_kwh: float
    import_cost: float = Field(description="paid for energy the system took in")
    supplied_kwh: float
    supplied_value: float = Field(description="supplied energy at the import price of its time")
    exported_kwh: float
    export_earnings: float
    savings: float = Field(description="supplied_value + export_earnings - import_cost")
    savings_percent: float | None = Field(description="savings as % of the avoided cost")
    stored_energy_start_kwh: float | None
    stored_energy_end_kwh: float | None
    stored_energy_change_kwh: float | None = Field(
        description="left in (or taken from) the battery: not in the simple savings"
    )
    stored_energy_change_value: float | None
    round_trip_losses_kwh: float | None = Field(
        description="charged - discharged - change in stored energy"
    )


class SavingsBucketOut(BaseModel):
    start_time: datetime
    end_time: datetime
    label: str
    savings: SavingsLineOut


class SavingsProvenanceOut(BaseModel):
    method: Literal["meter_records", "telemetry"] = Field(description="how the figures were made")
    data: str = Field(description="which data they were made from")
    limit: str = Field(description="what the method leaves out")


class SavingsDayOut(BaseModel):
    """A local day of a telemetry report, as the portal's Savings tab shows it, with where its
    figures and the battery's energy came from."""

    day: date
    steps: int = Field(description="quarter hours with measured grid power")
    steps_in_day: int = Field(description="quarter hours of the local day within the window")
    imported_kwh: float
    exported_kwh: float
    charged_kwh: float
    discharged_kwh: float
    import_cost: float
    export_earnings: float
    cost_with_battery: float = Field(description="import cost - export earnings, as metered")
    cost_without_battery: float = Field(description="the same home's grid flow less the battery's")
    savings: float = Field(description="cost_without_battery - cost_with_battery")
    delivered_kwh: dict[str, float] = Field(
        description="the stored-energy ledger (FIFO over the window): kWh the battery delivered "
        "by origin and destination (solar_to_home, grid_to_grid, initial_to_home: stored before "
        "the window, ...)"
    )
    losses_kwh: float = Field(description="round-trip losses the ledger counted that day")


class SavingsOut(BaseModel):
    site_id: str
    currency: str
    aggregation: Aggregation
    start_time: datetime
    end_time: datetime
    total: SavingsLineOut
    buckets: list[SavingsBucketOut]
    provenance: SavingsProvenanceOut
    days: list[SavingsDayOut] = Field(
        default_factory=list, description="per local day, with method telemetry"
    )
    reason: str | None = Field(None, description="why a telemetry report has no figures")
