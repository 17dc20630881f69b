"""Ingest cost in CPU time, the current code beside an older commit in the same run (issue 11:
"no slower"), for a machine too busy for wall-clock rates.

Two figures on SQLite, each as readings per CPU-second: the in-process pipeline
(``bench_ingest.run`` with ``time.process_time`` as its clock) and HTTP ingest, measured as the
``voltfleet serve`` process's own CPU time (``/proc/<pid>/stat``) while ``bench_http_ingest``
posts. The baseline is a git worktree of the older commit (``VOLTFLEET_BENCH_BASELINE``, e.g.
``git worktree add /tmp/base da4f105``); runs alternate baseline and current ``ROUNDS`` times.

    VOLTFLEET_BENCH_BASELINE=/tmp/base .venv/bin/python benchmarks/ingest_cpu.py

``VOLTFLEET_BENCH_PARTS=http`` (or ``pipeline``) runs one of the two figures only.

The HTTP figure also runs the current code with the garbage collector as CPython sets it
("current, collector untuned": ``voltfleet.process_gc.tune_for_server`` replaced by a no-op
through a ``sitecustomize`` on the server's path), so the run shows what the collector settings of
the server processes are worth. The pipeline runs in this script's process, untuned in both trees,
and once more in the current tree tuned as the server processes are ("tuned as the servers").
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROUNDS = int(os.environ.get("VOLTFLEET_BENCH_ROUNDS", "3"))
HERE = Path(__file__).resolve().parent.parent

PIPELINE = """
import os, sys, tempfile, time
sys.path.insert(0, "benchmarks"); sys.path.insert(0, ".")
time.perf_counter = time.process_time
import bench_ingest as b
if os.environ.get("VOLTFLEET_BENCH_TUNE"):  # as the server processes run (voltfleet.process_gc)
    from voltfleet.process_gc import tune_for_server
    tune_for_server()
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


UNTUNED = """
import voltfleet.process_gc as gc_settings
gc_settings.tune_for_server = lambda *a, **k: None
"""


def rate(tree: Path, code: str, untuned: Path | None = None, tuned: bool = False) -> float:
    path = [str(tree / "src")] + ([str(untuned)] if untuned else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    if tuned:
        env["VOLTFLEET_BENCH_TUNE"] = "1"
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
    with tempfile.TemporaryDirectory(prefix="voltfleet-untuned-") as tmp:
        untuned = Path(tmp)
        (untuned / "sitecustomize.py").write_text(UNTUNED)
        compare(Path(base), untuned)


def compare(base: Path, untuned: Path) -> None:
    trees = {"baseline": base, "current": HERE}
    parts = os.environ.get("VOLTFLEET_BENCH_PARTS", "pipeline,http").split(",")
    chosen = [("pipeline", PIPELINE)] if "pipeline" in parts else []
    chosen += [("HTTP (server CPU)", HTTP)] if "http" in parts else []
    for name, code in chosen:
        runs = dict(trees)
        if (HERE / "src/voltfleet/process_gc.py").exists():
            extra = "untuned" if code is HTTP else "tuned as the servers"
            runs[f"current, collector {extra}"] = HERE
        got: dict[str, list[float]] = {label: [] for label in runs}
        for _ in range(ROUNDS):
            for label, tree in runs.items():
                got[label].append(
                    rate(tree, code, untuned if "untuned" in label else None, "tuned " in label)
                )
        for label, rates in got.items():
            shown = " / ".join(f"{r / 1000:.0f}k" for r in rates)
            print(
                f"{name:18} {label:8}: {shown} readings per CPU-second "
                f"(mean {statistics.mean(rates) / 1000:.1f}k)",
                flush=True,
            )
        for label in got:
            if label != "baseline":
                ratio = statistics.mean(got[label]) / statistics.mean(got["baseline"])
                print(f"{name:18} {label}/baseline: {ratio:.3f}", flush=True)


if __name__ == "__main__":
    main()
