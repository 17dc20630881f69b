"""The long-running processes tune the garbage collector once they have started
(voltfleet.process_gc): checked in a child process, so this test process keeps its own settings."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc
from voltfleet.process_gc import YOUNG_THRESHOLD, tune_for_server
before = gc.get_threshold()
alive = [[i] for i in range(1000)]  # containers the collector tracks
tune_for_server()
after = gc.get_threshold()
assert after == (YOUNG_THRESHOLD, before[1], before[2]), (before, after)
assert gc.get_freeze_count() >= 1000, gc.get_freeze_count()
print("ok", before[0], after[0], gc.get_freeze_count())
"""

SERVE = """
import gc, sys, tempfile
import uvicorn
from voltfleet import cli
from voltfleet.settings import Settings
seen = {}
def run(app, **kw):
    seen.update(threshold=gc.get_threshold(), frozen=gc.get_freeze_count())
uvicorn.run = run
with tempfile.TemporaryDirectory() as d:
    cli._serve(Settings(database_url=f"sqlite:///{d}/t.db", mode="test"), "127.0.0.1", 0)
print(seen["threshold"][0], seen["frozen"])
"""


def test_tune_for_server_freezes_what_is_alive_and_raises_the_young_threshold() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok 700 10000")


def test_serve_tunes_the_collector_after_building_the_app() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SERVE], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    young, frozen = (int(x) for x in out.stdout.split()[-2:])
    assert young == 10_000
    assert frozen > 100_000  # the app's modules, mappings and templates are frozen
