"""Device commands: created by people (or the placeholder day plan), delivered to gateways over
HTTP polling or MQTT, answered by the gateways."""
