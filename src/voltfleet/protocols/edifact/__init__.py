"""EDIFACT for the energy market (EDI@Energy): MSCONS written and read with pydifact, and the
message implementation guide's structure as data for a structural check."""
