"""The console's Babel catalogs: complete in Italian and Dutch, and in step with the code."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
LANGUAGES = ("it", "nl")
# The keywords babel.cfg's header line gives pybabel: _l(text) and _lp(context, text).
KEYWORDS = {"_l": None, "_lp": ((1, "c"), 2), "_": None, "gettext": None, "pgettext": ((1, "c"), 2)}

MessageId = tuple[str | None, str]


def _po(language: str) -> Catalog:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def _ids(catalog: Catalog) -> set[MessageId]:
    return {(m.context, str(m.id)) for m in catalog if m.id}


def _extracted() -> set[MessageId]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[MessageId] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        assert isinstance(message, str), f"{_file}:{_line}: plural forms are not used in the console"
        found.add((context, message))
    return found


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(scope="module")
def extracted() -> set[MessageId]:
    return _extracted()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    catalog = _po(language)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    assert not catalog.obsolete, f"obsolete entries in {language}: {list(catalog.obsolete)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_holds_exactly_what_the_code_marks(language, extracted):
    """Extract as pybabel does (babel.cfg) and compare: a new text in the code must be added
    to the catalogs (pybabel update), a text the code dropped must leave them."""
    in_catalog = _ids(_po(language))
    assert sorted(extracted - in_catalog, key=str) == [], "in the code, not in the catalog"
    assert sorted(in_catalog - extracted, key=str) == [], "in the catalog, no longer in the code"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_matches_its_source(language):
    """The app reads messages.mo: it must say what messages.po says (pybabel compile)."""
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    source = {(m.context, str(m.id)): m.string for m in _po(language) if m.id}
    assert {(m.context, str(m.id)): m.string for m in compiled if m.id} == source


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    """A translation that drops or renames {name} would show a hole or fail to render."""
    wrong = [(m.id, m.string) for m in _po(language)
             if m.id and _names(str(m.id)) != _names(str(m.string))]
    assert wrong == []
