"""Import every module that defines tables, so Alembic and create_all see them all."""

from voltfleet.store import (  # noqa: F401
    alarm_models,
    alarm_notify_models,
    charging_models,
    command_models,
    departure_defaults_models,
    discovery_models,
    ev_modes_models,
    firmware_models,
    fleet_models,
    models,
    money_models,
    ocpp_models,
    plan_models,
    power_models,
    rates_models,
    register_models,
    relay_models,
    telemetry_models,
    virtual_battery_models,
    yield_models,
)
