"""What the one-clock filters cost a page: 10,000 instants written on a site's clock with Babel
(app/formatting.site_time) against the strftime in UTC the templates used before.

    python benchmarks/formatting_bench.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from voltfleet.app import formatting

N = 10_000


def main() -> None:
    start = datetime(2026, 12, 6, tzinfo=UTC)
    instants = [start + timedelta(minutes=7 * i) for i in range(N)]
    t0 = time.perf_counter()
    for ts in instants:
        ts.strftime("%Y-%m-%d %H:%M UTC")
    baseline = time.perf_counter() - t0
    print(f"strftime UTC (before):          {baseline / N * 1e6:7.2f} us per instant")
    for formats in ("iso", "en-GB", "en-US", "de-DE"):
        formatting.use_preferences("en", zone="America/New_York", formats=formats)
        t0 = time.perf_counter()
        for ts in instants:
            formatting.site_time(ts, "Europe/Berlin")
        took = time.perf_counter() - t0
        print(f"site_time {formats:6} (site's zone): {took / N * 1e6:7.2f} us per instant")
    formatting.use_preferences("de")
    t0 = time.perf_counter()
    for i in range(N):
        formatting.number(i * 1.2345, 2)
    took = time.perf_counter() - t0
    print(f"number de-DE:                   {took / N * 1e6:7.2f} us per number")


if __name__ == "__main__":
    main()
