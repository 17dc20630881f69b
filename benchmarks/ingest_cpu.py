"""Ingest cost in CPU time, the current code beside an older commit in the same run (issue 11:
"no slower"), for a machine too busy for wall-clock rates.

Two figures on SQLite, each as readings per CPU-second: the in-process pipeline
(``bench_ingest.run`` with ``time.process_time`` as its clock) and HTTP ingest, measured as the
``voltfleet serve`` process's own CPU time (``/proc/<pid>/stat``) while ``bench_http_ingest``
posts. The baseline is a git worktree of the older commit (``VOLTFLEET_BENCH_BASELINE``, e.g.
``git worktree add /tmp/base da4f105``); runs alternate baseline and current ``ROUNDS`` times.

    VOLTFLEET_BENCH_BASELINE=/tmp/base .venv/bin/python benchmarks/ingest_cpu.py
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROUNDS = int(os.environ.get("VOLTFLEET_BENCH_ROUNDS", "3"))
HERE = Path(__file__).resolve().parent.parent

PIPELINE = """
import sys, tempfile, time
sys.path.insert(0, "benchmarks"); sys.path.insert(0, ".")
time.perf_counter = time.process_time
import bench_ingest as b
with tempfile.TemporaryDirectory() as d:
    for line in b.run("sqlite", f"sqlite:///{d}/b.db"):
        if "pipeline:" in line:
            print("RATE", line.split("=")[1].split()[0].replace(",", ""))
"""
HTTP = """
import os, sys, tempfile
from pathlib import Path
sys.path.insert(0, "benchmarks"); sys.path.insert(0, ".")
import bench_http_ingest as m
held = {}
start = m.ServerProcess.start
def keep(self, *a, **k):
    held["s"] = self
    return start(self, *a, **k)
m.ServerProcess.start = keep
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
post = m.post_all
def measured(url, work):
    pid = held["s"].proc.pid
    c0 = cpu(pid)
    p = post(url, work)
    print("RATE", round(p["readings"] / (cpu(pid) - c0)))
    return p
m.post_all = measured
with tempfile.TemporaryDirectory() as tmp:
    m.run("SQLite", f"sqlite:///{tmp}/bench.db", Path(tmp), 1)
"""


def rate(tree: Path, code: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    found = re.search(r"RATE (\d+)", out)
    if found is None:
        raise RuntimeError(f"no figure from {tree}: {out[-500:]}")
    return float(found.group(1))


def main() -> None:
    base = os.environ.get("VOLTFLEET_BENCH_BASELINE")
    if not base:
        print("set VOLTFLEET_BENCH_BASELINE to a worktree of the older commit")
        return
    trees = {"baseline": Path(base), "current": HERE}
    for name, code in (("pipeline", PIPELINE), ("HTTP (server CPU)", HTTP)):
        got: dict[str, list[float]] = {"baseline": [], "current": []}
        for _ in range(ROUNDS):
            for label, tree in trees.items():
                got[label].append(rate(tree, code))
        for label, rates in got.items():
            shown = " / ".join(f"{r / 1000:.0f}k" for r in rates)
            print(
                f"{name:18} {label:8}: {shown} readings per CPU-second "
                f"(mean {statistics.mean(rates) / 1000:.1f}k)",
                flush=True,
            )
        ratio = statistics.mean(got["current"]) / statistics.mean(got["baseline"])
        print(f"{name:18} current/baseline: {ratio:.3f}", flush=True)


if __name__ == "__main__":
    main()
