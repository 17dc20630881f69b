"""docs/scaling.md says how chargers scale as the code now does: heartbeats are written in batches
(app/charging/presence_batch.py), not "a cheaper heartbeat path first" still to come."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_scaling_guide_counts_on_the_batched_heartbeats() -> None:
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    chargers = next(line for line in text.splitlines() if line.startswith("| chargers |"))
    assert "cheaper heartbeat path" not in text
    assert "heartbeats are already written in batches" in chargers
    assert "`app/charging/presence_batch.py`" in chargers
    assert (ROOT / "src" / "voltfleet" / "app" / "charging" / "presence_batch.py").is_file()
