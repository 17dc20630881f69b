"""An inverter's working mode, TOU table, intelligent load and power switch (portal pages; the
API is the commands endpoint with kinds work_mode, intelligent_load, power_switch)."""
