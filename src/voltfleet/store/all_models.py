"""Import every module that defines tables, so Alembic and create_all see them all."""

from voltfleet.store import (  # noqa: F401
    alarm_models,
    charging_models,
    command_models,
    fleet_models,
    models,
    money_models,
    ocpp_models,
    telemetry_models,
)
