"""What a ticket is about, stored as its meaning: a subject code with values (rendered in the
reader's language: English for the API and the CLI, the operator's in the console) or, where
the subject is the caller's own words or a product's name, that text as it was said.

A code's English text lives here; the console's Italian and Dutch are in its Babel catalogs
under the key `subject_<code>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.i18n import LANGUAGES

# code -> English text ({name} placeholders filled from the ticket's subject values).
SUBJECTS: dict[str, str] = {
    "caller_frustrated": "Caller frustrated",
    "caller_angry": "Caller angry",
    "caller_abusive": "Caller abusive",
    "ended_by_operator": "Call ended by the operator",
    "order_late": "Order {order} late",
    # A name we hold in every language (a product, a product family): values are language -> name.
    "named": "{en}",
}


def names(name_in: Callable[[str], str]) -> dict[str, str]:
    """A name in every language, as the subject_values of a "named" subject."""
    return {language: name_in(language) for language in LANGUAGES}


def upset(level: str | None) -> str:
    """The subject code of a complaint by how upset the caller was (app.flows.anger levels)."""
    code = f"caller_{level or 'angry'}"
    return code if code in SUBJECTS else "caller_angry"


def english(code: str | None, values: Mapping[str, Any] | None, text: str | None) -> str | None:
    """The subject as an English reader sees it; a code we do not know is shown as it is."""
    if not code:
        return text
    template = SUBJECTS.get(code)
    if template is None:
        return code
    try:
        return template.format(**{k: str(v) for k, v in (values or {}).items()})
    except (KeyError, IndexError):
        return template
