"""Modbus (TCP and RTU) with pymodbus: the client link the edge agent reads devices through."""
