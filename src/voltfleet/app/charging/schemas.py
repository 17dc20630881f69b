"""Answers of the charging API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ChargingSessionOut(BaseModel):
    id: str
    site_id: str
    device_id: str = Field(description="the charger")
    charger_serial: str
    connector_id: int
    transaction_id: int = Field(description="the OCPP transaction id given to the charger")
    id_tag: str = Field(description="the RFID card or token the session was started with")
    started_at: datetime
    stopped_at: datetime | None
    active: bool
    meter_start_wh: float = Field(description="the charger's energy register at the start")
    meter_stop_wh: float | None
    energy_wh: float | None = Field(
        description="charged: at the stop, or so far while active (unknown when the register "
        "went backwards)"
    )
    power_w: float | None = Field(description="the last charging power reported (0 once stopped)")
    stop_reason: str = Field(description="OCPP reason (EVDisconnected, Local, Remote ...)")
    updated_at: datetime
