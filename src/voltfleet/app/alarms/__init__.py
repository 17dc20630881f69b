"""Device alarms: ingest (HTTP and MQTT), the list, acknowledgement, the active count."""
