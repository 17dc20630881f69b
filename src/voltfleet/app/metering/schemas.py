from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from voltfleet.app.instants import Instant
from voltfleet.app.tariffs.schemas import Direction

Aggregation = Literal["DAY", "WEEK", "MONTH", "YEAR"]
Rate = Literal["IMPORT", "EXPORT", "LOCAL"]


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


class SavingsOut(BaseModel):
    site_id: str
    currency: str
    aggregation: Aggregation
    start_time: datetime
    end_time: datetime
    total: SavingsLineOut
    buckets: list[SavingsBucketOut]
