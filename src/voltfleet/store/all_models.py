"""Import every module that defines tables, so Alembic and create_all see them all."""

from voltfleet.store import fleet_models, models, money_models, telemetry_models  # noqa: F401
