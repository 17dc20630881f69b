"""The application's operations: one function per thing a person, a device or a timer asks for.

HTTP endpoints, portal pages, the MQTT bridge, the OCPP central system, background jobs and the
CLI all call these functions; none of them knows which one called. A use case raises the errors
of ``voltfleet.usecases.errors`` (never an HTTP status): each edge maps them to its own answer.
The clock, device links, job queue and time-series store arrive through ``voltfleet.ports``.
See docs/architecture.md.
"""
