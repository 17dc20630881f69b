"""Simulated homes (PV, household load, battery, house meter, EV) that talk to voltfleet only
through its public API: ``model`` (pure stepping), ``weather`` (data shipped in pvlib and
demandlib), ``client`` (HTTP), ``fleet`` (many homes, bounded)."""
