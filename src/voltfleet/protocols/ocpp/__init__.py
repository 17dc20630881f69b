"""OCPP for chargers: the OCPP 1.6J central-system side of one connection (``central16``), over
any socket with async recv/send/close, checked frame by frame (``connection``), with plausible
ranges for what a charger sends (``bounds``). What the messages mean for the platform (devices,
sessions, telemetry) is the application's, behind the ``ChargerLink`` protocol."""
