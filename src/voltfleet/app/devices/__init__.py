"""Devices of a site: gateways, inverters, batteries, meters and EV chargers."""
