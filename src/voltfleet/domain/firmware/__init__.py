"""Firmware: release rules (``releases``) and upgrade campaigns that halt by themselves
(``campaign``). Pure: data in, data out; the caller passes ``now``."""
