"""Garbage-collector settings for the long-running processes: ``serve``, ``mqtt-bridge`` and
``worker``, applied once after start-up.

Why (issue 11's "no slower" figure): one ingest request of 10,000 readings allocates about a
million container objects. With CPython's default thresholds (700, 10, 10) that is over a
thousand young collections and a few full ones per request, and every full collection walks the
whole heap, which grows with every module, ORM mapping, template and translation catalogue the
platform loads. Measured in CPU time beside the older commit of issue 11 (da4f105), the ingest
pipeline cost the same with the collector off and about 10 % more with it on: the difference was
the collector walking a bigger heap, not the ingest code (BENCHMARKS.md, ingest_cpu.py).

Two standard remedies, both from the CPython documentation of :mod:`gc`:
- :func:`gc.freeze` after start-up moves every object alive then (modules, mappings, templates:
  objects that live as long as the process) into a permanent generation the collector no longer
  walks;
- a first-generation threshold of 10,000 instead of 700 makes young collections rarer; the
  memory held between them is a few megabytes at most.

Not applied in ``create_app`` itself: a test process builds hundreds of apps, and freezing each
would keep their garbage for good.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune_for_server(young: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze what is alive, and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)
