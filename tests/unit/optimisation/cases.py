"""Builders for the battery plan tests: hourly or 15-minute problems from a few lists."""

from __future__ import annotations

from collections.abc import Sequence

from voltfleet.domain.optimisation.problem import Battery, Grid, PlanProblem


def battery(**kw: float | None) -> Battery:
    base: dict[str, float | None] = {
        "capacity_wh": 10_000,
        "max_charge_w": 5_000,
        "max_discharge_w": 5_000,
        "soc_init": 0.1,
        "soc_min": 0.1,
        "soc_max": 1.0,
        "charge_efficiency": 0.95,
        "discharge_efficiency": 0.95,
    }
    base.update(kw)
    return Battery(**base)  # type: ignore[arg-type]


def problem(
    import_price: Sequence[float],
    *,
    export_price: Sequence[float] | float = 0.0,
    pv_w: Sequence[float] | float = 0.0,
    load_w: Sequence[float] | float = 1000.0,
    step_h: float = 1.0,
    bat: Battery | None = None,
    grid: Grid | None = None,
    terminal: float = 0.0,
) -> PlanProblem:
    n = len(import_price)

    def series(v: Sequence[float] | float) -> list[float]:
        return [float(v)] * n if isinstance(v, int | float) else [float(x) for x in v]

    return PlanProblem(
        step_h=step_h,
        pv_w=series(pv_w),
        load_w=series(load_w),
        import_price_per_kwh=series(import_price),
        export_price_per_kwh=series(export_price),
        battery=bat or battery(),
        grid=grid or Grid(),
        terminal_value_per_kwh=terminal,
    )
