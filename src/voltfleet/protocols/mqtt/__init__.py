"""MQTT for gateways: the topic layout (``topics``), the bridge from a broker into the telemetry
pipeline (``bridge``) and the Mosquitto configuration for a deployment (``broker``)."""
