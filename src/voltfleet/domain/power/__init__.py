"""EV power management at a location: a tree of fuse groups with meters, connectors on it, and
the allocation of charging current per grid phase down the tree (docs/power-management.md).

Pure: no I/O, no clock, no framework. The caller passes what was measured and when (ages in
seconds), the local time of day for time-windowed limits, and the state it kept from the previous
cycle (hysteresis, solar backup).
"""
