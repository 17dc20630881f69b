"""Every text the portal shows is in the catalogue, and German has them all (issue 19).

(a) A template's words (element text and the attributes people see or hear: title, placeholder,
aria-label, alt, the value of a button) must be written ``{{ _("...") }}`` or in a trans block.
(b) Every text marked in a template or in the code has a German translation in some .po file of
``app/locale/de/LC_MESSAGES``.
"""

from __future__ import annotations

import pytest

from voltfleet.app import i18n_catalogue as cat

# Templates not converted yet: none since stop 12. Nothing may be added.
TODO: set[str] = set()


def _name(path: object) -> str:
    return str(path.relative_to(cat.TEMPLATES))  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", cat.templates(), ids=_name)
def test_template_texts_are_marked_for_translation(path: object) -> None:
    if _name(path) in TODO:
        pytest.skip("owned by another helper this session: converted at merge")
    bare = cat.bare_texts(path)  # type: ignore[arg-type]
    assert not bare, "not marked with _() or trans:\n" + "\n".join(map(str, bare))


def test_the_todo_list_names_only_templates_that_exist() -> None:
    names = {_name(p) for p in cat.templates()}
    assert not TODO - names, TODO - names


def test_every_marked_text_has_a_german_translation() -> None:
    missing = cat.untranslated("de")
    assert not missing, "no German in app/locale/de/LC_MESSAGES:\n" + "\n".join(
        f"{m.where}: {m.msgid!r}" for m in missing
    )


def test_the_lexer_check_finds_text_outside_gettext(tmp_path: object) -> None:
    from pathlib import Path

    page = Path(str(tmp_path)) / "page.html"
    page.write_text(
        '{% extends "x" %}{% block content %}<h1>{{ _("Fine") }}</h1>'
        '<p title="Hover words">Plain words {{ value }}</p>'
        '<input type="submit" value="Send it"><input name="q" value="kept as data">'
        "{% trans %}Inside a trans block{% endtrans %}<script>var words = 1;</script>"
        "<span>12 kW</span>{% endblock %}"
    )
    found = [b.text for b in cat.bare_texts(page)]
    assert found == ["Hover words", "Plain words …", "Send it"]


def test_untranslated_texts_are_reported(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "de" / "LC_MESSAGES").mkdir(parents=True)
    (root / "de" / "LC_MESSAGES" / "x.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Home"\nmsgstr "Start"\n\n'
        'msgid "Sign in"\nmsgstr ""\n'
    )
    monkeypatch.setattr(cat, "LOCALE_DIR", root)
    assert "Home" in cat.translated("de") and "Sign in" not in cat.translated("de")
    assert "Sign in" in {m.msgid for m in cat.untranslated("de")}


def test_no_text_has_two_german_translations() -> None:
    """The catalogues are merged first-come (app/i18n.py): a msgid translated in two files one
    way and another showed whichever file sorted first: the power flow's "Home" (a house) read
    "Start" (the home page), the savings' "Saved" (money) read "Gespeichert" (stored). A text
    with two meanings needs two msgids."""
    from babel.messages.pofile import read_po

    from voltfleet.app.i18n import LOCALE_DIR

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for po in sorted((LOCALE_DIR / "de" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh):
                if not m.id or not m.string or isinstance(m.id, tuple):
                    continue
                first = seen.setdefault(m.id, (po.name, str(m.string)))
                if first[1] != m.string:
                    clashes.append(f"{m.id!r}: {first} vs {(po.name, m.string)}")
    assert not clashes, "\n".join(clashes)
