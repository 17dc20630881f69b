"""Nothing in the platform reads the wall clock except where a clock is chosen (clock.py,
bootstrap.py, cli.py) and the simulator (a stand-in for the outside world, which has its own
time): everything else takes the injected clock or the instant ``now`` (docs/architecture.md,
"Time"). A new wall-clock read fails here; pass ``now`` in, or add an entry below with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "voltfleet"

WALL_CLOCK = re.compile(r"\bdatetime\.now\(|\butcnow\(\)|\bdatetime\.utcnow\(|\bdate\.today\(\)")

# Where a clock is chosen, or time is the outside world's.
EXEMPT = ("clock.py", "cli.py", "bootstrap.py", "simulator/")

# Paths (below src/voltfleet) that may still read it, each with its reason.
ALLOWED: dict[str, str] = {
    "store/db.py": "utcnow(): the time columns' last-resort default, for an engine that no "
    "runtime wired a clock to (a migration, a script); a runtime's rows take its clock",
    "protocols/ocpp/central16.py": "the OCPP engine's currentTime in its Boot and Heartbeat "
    "replies: a charger sets its own clock from it, so it is the wall time by design (the "
    "charging operations take the injected clock)",
    "protocols/ocpp/central201.py": "as central16.py, for OCPP 2.0.1",
    "edge/cli.py": "the edge agent runs on a device beside the meters: its command line chooses "
    "the wall clock, as voltfleet's own cli.py does",
    "demo_edge.py": "starts the demo's edge agent on the wall clock, like the demo's command line",
}


def wall_clock_reads() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in EXEMPT or rel.startswith(EXEMPT[-1]):
            continue
        lines = [
            f"{rel}:{n}: {line.strip()}"
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if WALL_CLOCK.search(line)
        ]
        if lines:
            found[rel] = lines
    return found


def test_no_module_reads_the_wall_clock_outside_the_allow_list() -> None:
    offending = [
        line for rel, lines in wall_clock_reads().items() if rel not in ALLOWED for line in lines
    ]
    assert not offending, (
        "take the injected clock (ports.Clock) or the instant 'now' as an argument instead:\n"
        + "\n".join(offending)
    )


def test_the_pattern_finds_the_ways_of_reading_it() -> None:
    for text in ("datetime.now(UTC)", "x = utcnow()", "datetime.utcnow()", "date.today()"):
        assert WALL_CLOCK.search(text), text
    for text in ("clock.now()", "default=clock_now", "session_now(session)", "runtime.now"):
        assert not WALL_CLOCK.search(text), text
