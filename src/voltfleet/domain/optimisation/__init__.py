"""The battery plan as an optimisation problem: the data a solver reads (``problem``), the plan
it returns (``plan``), and the plans it is measured against (``baselines``: no battery, plain
self-consumption, which is also the safe fallback). Pure: no solver, no clock, no I/O; the
solver is a port (``ports.PlanSolver``), HiGHS its adapter (``voltfleet.solver``)."""
