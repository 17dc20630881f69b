"""EV chargers: the OCPP 1.6J central system (``ws``, ``link``, ``service``), charging sessions
(``endpoints``) and the portal's charger card (``pages``)."""
