"""The terms of use and the privacy policy a person accepts at registration.

An operator replaces the shipped texts with files in ``Settings.legal_dir``: ``terms.md`` and
``privacy.md``, and per language ``terms.de.md``, ``privacy.de.md``; a file found there wins over
the shipped one. A registration records which version (a digest of the text) was accepted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from voltfleet.settings import Settings

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "legal"
KINDS = ("terms", "privacy")


@dataclass(frozen=True)
class LegalText:
    kind: str
    title: str
    paragraphs: list[str]
    version: str  # the first 12 hex digits of the text's SHA-256


def _candidates(settings: Settings, kind: str, language: str) -> list[Path]:
    names = [f"{kind}.{language}.md", f"{kind}.md"] if language != "en" else [f"{kind}.md"]
    folders = [settings.legal_dir, SHIPPED] if settings.legal_dir else [SHIPPED]
    return [folder / name for folder in folders for name in names]


def legal_text(settings: Settings, kind: str, language: str) -> LegalText:
    """The text of ``kind`` ("terms" or "privacy") in ``language``, the operator's if given."""
    if kind not in KINDS:
        raise ValueError(kind)
    path = next(p for p in _candidates(settings, kind, language) if p.is_file())
    text = path.read_text(encoding="utf-8").strip()
    title, _, body = text.partition("\n")
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return LegalText(kind, title.strip(), paragraphs, version)


def accepted_versions(settings: Settings, language: str) -> dict[str, str]:
    """What a registration accepts: each text's version."""
    return {kind: legal_text(settings, kind, language).version for kind in KINDS}
