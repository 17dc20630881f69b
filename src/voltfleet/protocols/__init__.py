"""Wire engines without device knowledge: each turns a protocol's messages into calls of the
application's pipelines (telemetry ingest, device status) and back. ``mqtt/`` is the first."""
