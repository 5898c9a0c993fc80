"""Words are data: what a caller hears lives in the flows or in prompts/<lang>.yaml of the flows
directory, and what an operator reads in the console's Babel catalogs (app/translations), so a
translator never has to read Python. This keeps a sentence per language from creeping back into
the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
LANGUAGES = {"it", "nl", "en"}
# Two words of two letters or more: a sentence, not a code such as "it-IT", "H:mm" or a voice.
WORDS = re.compile(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}")


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _texts_by_language(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        if len(keys & LANGUAGES) < 2:
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            text = _text(value)
            if isinstance(key, ast.Constant) and key.value in LANGUAGES and text and WORDS.search(text):
                found.append((node.lineno, text))
                break
    return found


def test_no_sentence_is_written_per_language_in_python() -> None:
    offenders = [f"{path.relative_to(APP.parent)}:{line}: {text[:60]!r}"
                 for path in sorted(APP.rglob("*.py"))
                 for line, text in _texts_by_language(ast.parse(path.read_text(encoding="utf-8")))]
    assert offenders == [], ("texts per language belong in prompts/<lang>.yaml of the flows "
                             "directory (said on a call) or app/translations (console):\n"
                             + "\n".join(offenders))


def test_the_check_sees_a_sentence_and_lets_codes_pass() -> None:
    tree = ast.parse('A = {"it": "Buongiorno, come posso aiutarla?", "nl": "Goedemorgen", "en": "Hello"}\n'
                     'B = {"it": "it-IT", "nl": "nl-NL", "en": "en-GB"}\n'
                     'C = {"it": "H:mm", "nl": "H:mm", "en": "h:mm a"}\n'
                     'D = {"it": f"Alle {x} la richiamo", "nl": "x", "en": "y"}\n')
    assert [line for line, _ in _texts_by_language(tree)] == [1, 4]


# How a language says a time lives in times/<lang>.yaml of the flows directory; timeparse.py keeps
# only the structure (how a match makes a clock). A regex literal there is any string with regex
# syntax; what is left of it once escapes (\b, \d), group syntax ((?P<h>) and character classes
# ([ap]) are taken away must hold no word, but for am/pm, which normalise() writes the same for
# every language.
TIMEPARSE = APP / "callbacks" / "timeparse.py"
REGEX_SYNTAX = re.compile(r"\\[bdswBDSW]|\(\?")
NOT_WORDS = re.compile(r"\\[A-Za-z]|\(\?P<\w+>|\(\?P=\w+\)|\[[^\]]*\]")
STRUCTURE = {"am", "pm"}


def _regex_words(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    inside_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings or id(node) in inside_fstrings:
            continue
        literal = "{}".join(v.value for v in node.values if isinstance(v, ast.Constant)) \
            if isinstance(node, ast.JoinedStr) else node.value if isinstance(node, ast.Constant) else None
        if not isinstance(literal, str) or not REGEX_SYNTAX.search(literal):
            continue
        words = set(re.findall(r"[^\W\d_]{2,}", NOT_WORDS.sub(" ", literal))) - STRUCTURE
        if words:
            found.append((node.lineno, f"{literal!r}: {', '.join(sorted(words))}"))
    return found


def test_no_language_s_words_inside_a_regex_of_the_time_parser() -> None:
    offenders = [f"{TIMEPARSE.relative_to(APP.parent)}:{line}: {what}"
                 for line, what in _regex_words(ast.parse(TIMEPARSE.read_text(encoding="utf-8")))]
    assert offenders == [], ("words of a language belong in times/<lang>.yaml of the flows "
                             "directory, the regex in the code names only numbers:\n"
                             + "\n".join(offenders))


def test_the_regex_check_sees_words_and_lets_structure_pass() -> None:
    tree = ast.parse('A = re.search(r"\\b(?:alle|verso le) (?P<h>\\d{1,2})\\b", w)\n'
                     'B = rf"\\b(?:{vocab[\'at\']}) (?P<h>\\d{{1,2}})(?: (?P<ampm>am|pm))?\\b"\n'
                     'C = re.sub(r"(\\d)\\s*([ap])\\.?\\s?m\\b\\.?", r"\\1 \\2m", w)\n'
                     'D = re.search(rf"\\b{h} (?:in the|this) (?:morning|evening)\\b", w)\n'
                     'E = vocab["relative"]\n')
    assert [line for line, _ in _regex_words(tree)] == [1, 4]
