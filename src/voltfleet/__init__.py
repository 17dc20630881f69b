"""voltfleet: an open, self-hostable platform for fleets of residential energy systems."""

__version__ = "0.1.0"
