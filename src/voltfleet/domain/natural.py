"""Natural order of names: "home 6" before "home 10", as a person counts.

``natural_key`` turns a name into a text whose plain (code point) order is the natural order,
so a database sorts and pages by an indexed column: letters are case-folded and each run of
digits is written with its length first (``6`` -> ``"016"``, ``10`` -> ``"0210"``), so a longer
number sorts after a shorter one whatever its digits. No library does this for a stored key
(natsort sorts Python lists); the rule is a few lines.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+")
KEY_LENGTH = 400  # the stored column's size; a longer key is cut (order beyond it is by id)


def _number(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    width = len(digits)
    # Width as two digits: names with numbers of 100 digits or more are not worth a rule.
    return f"{min(width, 99):02d}{digits}"


def natural_key(name: str) -> str:
    """The text that sorts ``name`` naturally: case-insensitive, numbers by value."""
    return _DIGITS.sub(_number, name.strip().casefold())[:KEY_LENGTH]
