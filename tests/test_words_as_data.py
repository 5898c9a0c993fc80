"""Words are data: what a caller hears lives in the flows or flows/prompts/<lang>.yaml, and what
an operator reads in the console's Babel catalogs (app/translations), so a translator never has
to read Python. This keeps a sentence per language from creeping back into the code."""

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
    assert offenders == [], ("texts per language belong in flows/prompts/<lang>.yaml (said on a call) "
                             "or app/translations (console):\n" + "\n".join(offenders))


def test_the_check_sees_a_sentence_and_lets_codes_pass() -> None:
    tree = ast.parse('A = {"it": "Buongiorno, come posso aiutarla?", "nl": "Goedemorgen", "en": "Hello"}\n'
                     'B = {"it": "it-IT", "nl": "nl-NL", "en": "en-GB"}\n'
                     'C = {"it": "H:mm", "nl": "H:mm", "en": "h:mm a"}\n'
                     'D = {"it": f"Alle {x} la richiamo", "nl": "x", "en": "y"}\n')
    assert [line for line, _ in _texts_by_language(tree)] == [1, 4]
