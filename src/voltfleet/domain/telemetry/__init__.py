"""Telemetry, pure: the catalogue of data points, validation of readings, and roll-ups."""
