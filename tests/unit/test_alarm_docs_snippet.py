"""The verification snippet of docs/alarms.md runs and accepts what the platform signs (and
refuses a changed body)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from voltfleet.domain.alarm_notifications import new_secret, signed_headers

DOC = Path(__file__).parents[2] / "docs" / "alarms.md"


def test_the_documented_stdlib_verifier_accepts_our_signatures() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    snippet = next(b for b in blocks if "def genuine" in b)
    scope: dict[str, object] = {}
    exec(snippet, scope)  # our own documentation
    genuine = scope["genuine"]
    secret = new_secret(b"k" * 24)
    body = b'{"type":"alarm.raised"}'
    headers = signed_headers(secret, "d-1", datetime.now(UTC), body)
    assert genuine(secret, headers, body)  # type: ignore[operator]
    assert not genuine(secret, headers, body + b"x")  # type: ignore[operator]
