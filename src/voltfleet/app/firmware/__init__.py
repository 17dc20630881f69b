"""Firmware releases, upgrade tasks and commissioning reports (issue 16)."""
