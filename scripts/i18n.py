"""A translator's tool: what the catalogues lack, and a template of every text to translate.

    python scripts/i18n.py check [LANG]     list the texts LANG (default: de) does not translate
    python scripts/i18n.py bare             list template texts not marked with _() or trans
    python scripts/i18n.py pot FILE         write every marked text to FILE (a .pot template)
    python scripts/i18n.py todo LANG FILE   write the untranslated texts as a .po file to fill in

Exits 1 when something is missing, so CI can run it. See docs/i18n.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from voltfleet.app import i18n_catalogue as cat


def _write(path: Path, found: list[cat.Message], language: str | None) -> None:
    catalog = Catalog(locale=language, project="voltfleet")
    for m in found:
        file, _, line = m.where.rpartition(":")
        catalog.add(m.msgid, locations=[(file, int(line))])
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "check":
        language = argv[1] if len(argv) > 1 else "de"
        missing = cat.untranslated(language)
        for m in missing:
            print(f"{m.where}: {m.msgid!r}")
        print(f"{len(missing)} of {len(cat.messages())} texts not translated to {language}")
        return 1 if missing else 0
    if command == "bare":
        bare = [b for path in cat.templates() for b in cat.bare_texts(path)]
        for b in bare:
            print(b)
        print(f"{len(bare)} texts not marked for translation")
        return 1 if bare else 0
    if command == "pot" and len(argv) == 2:
        _write(Path(argv[1]), cat.messages(), None)
        return 0
    if command == "todo" and len(argv) == 3:
        _write(Path(argv[2]), cat.untranslated(argv[1]), argv[1])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
