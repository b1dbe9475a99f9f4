"""The console's catalogs: every message of the pages is in Vietnamese, and the compiled .mo says what the .po says
(a .po edited without `pybabel compile` would show stale text)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "admin" / "translations"


def test_every_console_message_has_its_vietnamese() -> None:
    """Extracted afresh from the code and templates, so a new message without its translation fails here."""
    methods = [("admin/console/**.py", "python"), ("admin/console/templates/**.html", "jinja2")]
    template = {str(found[2]) for found in extract_from_dir(str(TRANSLATIONS.parents[1]), methods) if found[2]}
    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        vietnamese = {m.id: m.string for m in read_po(f) if m.id}
    assert template <= set(vietnamese)
    assert [m for m, text in vietnamese.items() if not text] == []


def test_the_compiled_catalogs_match_their_sources() -> None:
    for lang in ("vi", "en"):
        folder = TRANSLATIONS / lang / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as f:
            source = {m.id: m.string for m in read_po(f) if m.id and m.string}
        with (folder / "messages.mo").open("rb") as f:
            compiled = {m.id: m.string for m in read_mo(f) if m.id and m.string}
        assert compiled == source, lang
