"""Virtual battery ledger (issue 17), pure core, each figure beside a plain Python loop over the
same data in the same run:

* one meter, a year of 15-minute data (35,040 intervals; the sun charges at noon, the evening
  draws): ``ledger.run_fast`` with no capacity limit (the running-minimum trick) and with a cap
  of 5 kWh that is hit on most sunny days (segments), target < 5 ms, beside ``ledger.run_plain``;
* 10,000 virtual batteries advanced by a day's new readings (96 intervals each, mixed capacities,
  some resets): ``ledger.step_many`` (vectorised over the batteries), target < 10 s, beside
  ``run_plain`` battery by battery.

    .venv/bin/python benchmarks/virtual_battery.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from voltfleet.domain.virtual_battery.ledger import run_fast, run_plain, step_many


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def year_of_one_meter(rng: np.random.Generator, n: int = 35_040) -> tuple[np.ndarray, np.ndarray]:
    slot = np.arange(n) % 96
    day = np.arange(n) // 96
    season = 0.55 + 0.45 * np.cos((day - 172) / 365 * 2 * np.pi)  # summer high
    sun = np.clip(np.sin((slot - 24) / 48 * np.pi), 0, None) * season
    pv = 1500 * sun * rng.uniform(0.3, 1.0, n)  # Wh per quarter hour
    load = rng.uniform(60, 250, n) + np.where((slot >= 72) & (slot < 88), 400, 0)
    net = pv - load
    return np.maximum(-net, 0.0), np.maximum(net, 0.0)


def main() -> None:
    rng = np.random.default_rng(17)
    imp, exp = year_of_one_meter(rng)
    reset = np.zeros(len(imp), dtype=bool)
    print("one meter, a year of 15-minute intervals (35,040); median of 20 (plain: of 3)")
    for label, cap in (("unlimited", 0.0), ("capacity 5 kWh", 5000.0)):
        fast = run_fast(imp, exp, cap, reset)
        plain = run_plain(imp, exp, cap, reset)
        assert np.allclose(fast.level_wh, plain.level_wh, atol=1e-6)
        hits = int(np.sum(fast.spilled_wh > 0))
        f = _median_ms(lambda c=cap: run_fast(imp, exp, c, reset), 20)
        p = _median_ms(lambda c=cap: run_plain(imp, exp, c, reset), 3)
        extra = f", {hits} intervals spill at the cap" if cap else ""
        print(f"  {label}: numpy {f:.2f} ms; plain loop {p:.0f} ms ({p / f:.0f}x){extra}")

    batteries, n = 10_000, 96
    rng = np.random.default_rng(18)
    day_imp = np.empty((batteries, n))
    day_exp = np.empty((batteries, n))
    for b in range(0, batteries, 365):  # days out of the year's data, shuffled over batteries
        k = min(365, batteries - b)
        yi, ye = year_of_one_meter(rng)
        day_imp[b : b + k] = yi[: k * 96].reshape(k, 96)
        day_exp[b : b + k] = ye[: k * 96].reshape(k, 96)
    caps = rng.choice([0.0, 3000.0, 5000.0, 10_000.0], batteries)
    levels = np.minimum(rng.uniform(0, 8000, batteries), np.where(caps == 0, np.inf, caps))
    day_reset = np.zeros((batteries, n), dtype=bool)
    day_reset[rng.random(batteries) < 0.003, 0] = True  # a few reach their reset date today

    t0 = time.perf_counter()
    out, _, _ = step_many(levels, caps, day_imp, day_exp, day_reset)
    fast_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain_final = [
        run_plain(day_imp[b], day_exp[b], caps[b], day_reset[b], levels[b]).final_level_wh
        for b in range(batteries)
    ]
    plain_s = time.perf_counter() - t0
    assert np.allclose(out[:, -1], plain_final, atol=1e-6)
    print(
        f"10,000 virtual batteries, a day's new readings (96 intervals each): "
        f"numpy {fast_s * 1000:.1f} ms; plain loop per battery {plain_s:.2f} s "
        f"({plain_s / fast_s:.0f}x)"
    )


if __name__ == "__main__":
    main()
