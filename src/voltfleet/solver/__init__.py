"""Solvers behind ``ports.PlanSolver``: ``highs.HighsPlanSolver`` (the battery plan as an exact
linear program in HiGHS). An adapter: imports the domain and the ports, never the app."""
