"""Bootstrap wires what the modules used to set up for themselves at import (issue 11): the
site-summary flush listener is on the runtime's sessions, not on every SQLAlchemy Session."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from voltfleet.bootstrap import build_runtime
from voltfleet.settings import Settings
from voltfleet.store import summaries


def test_the_summary_listener_is_wired_by_bootstrap_not_at_import(tmp_path: Path) -> None:
    assert not event.contains(Session, "before_flush", summaries._drop_stale)
    runtime = build_runtime(Settings(mode="test", data_dir=tmp_path))
    try:
        assert event.contains(runtime.db.sessions, "before_flush", summaries._drop_stale)
        assert not event.contains(Session, "before_flush", summaries._drop_stale)
    finally:
        runtime.db.engine.dispose()
