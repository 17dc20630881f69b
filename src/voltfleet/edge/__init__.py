"""The edge agent (``voltfleet edge``): runs beside the devices, finds SunSpec devices on Modbus,
publishes their readings with its gateway's credential and executes the platform's commands.
A client of the platform's public protocols, like the simulator: it never imports app/ or store/.
"""
