"""Requests and answers of the OCPP operations API: commands to a charger, its message log, a
site's id tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

OcppAction = Literal[
    "set_charging_profile",
    "clear_charging_profile",
    "get_composite_schedule",
    "remote_start",
    "remote_stop",
    "reset",
    "unlock",
    "change_availability",
    "get_configuration",
    "change_configuration",
    "get_variables",
    "set_variables",
    "trigger_message",
    "update_firmware",
]


class OcppCommandIn(BaseModel):
    action: OcppAction
    params: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "In platform words: set_charging_profile {connector_id, purpose: station_max | "
            "tx_default | tx, limit_a, phases, stack_level, duration_s | periods: [{start_s, "
            "limit_a, phases}]}; clear_charging_profile {profile_id | connector_id, purpose, "
            "stack_level}; get_composite_schedule {connector_id, duration_s}; remote_start "
            "{connector_id, id_tag}; remote_stop {connector_id} (the session running there); "
            "reset {hard}; unlock {connector_id}; change_availability {connector_id, "
            "operative}; get_configuration {keys} and "
            "change_configuration {key, value} (OCPP 1.6); get_variables {variables: "
            "[{component, variable}]} and set_variables {variables: [{component, variable, "
            "value}]} (OCPP 2.0.1); trigger_message {message: boot | heartbeat | status | "
            "meter_values ..., connector_id}; update_firmware {location, retrieve_date, retries, "
            "retry_interval; request_id, signature, signing_certificate (2.0.1)} (a firmware "
            "task sends it for you)"
        ),
    )


class OcppCommandOut(BaseModel):
    action: str
    version: str = Field(description="the OCPP version the charger speaks (1.6 or 2.0.1)")
    status: str = Field(description="the charger's answer: Accepted, Rejected ...")
    result: dict[str, Any] = Field(description="the charger's whole answer (snake case)")


class OcppMessageOut(BaseModel):
    at: datetime
    direction: Literal["in", "out", "event"]
    text: str


class OcppLogOut(BaseModel):
    connected: bool
    version: str | None
    messages: list[OcppMessageOut]


class IdTagIn(BaseModel):
    tag: str = Field(min_length=1, max_length=36, description="the card's or token's id")
    label: str = Field(default="", max_length=100)
    active: bool = True


class IdTagOut(BaseModel):
    id: str
    site_id: str
    tag: str
    label: str
    active: bool
    created_at: datetime
