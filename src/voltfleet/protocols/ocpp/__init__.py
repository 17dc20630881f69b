"""OCPP for chargers: the OCPP 1.6J central-system side of one connection (``central16``), over a
Starlette WebSocket (``connection``). What the messages mean for the platform (devices, sessions,
telemetry) is the application's, behind the ``ChargerLink`` protocol."""
