"""The gateway dashboard, the gateway and inverter lists (filters, columns, CSV) and the
inverter's function bar (issue 15)."""
