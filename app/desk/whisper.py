"""What the desk says on the phone: the whisper an operator hears before taking a caller, and
the few sentences callers hear around the bridge, in Italian, Dutch and English: "desk.*" in
prompts/<lang>.yaml of the flows directory; and the language an operator hears it in."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app import prompts
from app.desk.models import DeskOperator, QueueEntry
from app.operators.models import OperatorUser

LANGUAGES = ("it", "nl", "en")


def operator_language(session: Session, operator_id: int) -> str:
    """What the operator hears the desk in: their console language, else the default one."""
    operator = session.get(DeskOperator, operator_id)
    user = session.get(OperatorUser, operator.user_id) if operator else None
    language = user.language if user else None
    return language if language in LANGUAGES else current_app.extensions["cortese.settings"].default_language


def text(key: str, language: str) -> str:
    """What the operator hears: desk.operator.<key>."""
    return prompts.text(f"desk.operator.{key}", language)


def caller_text(key: str, language: str, **values: str) -> str:
    """What the caller hears around the bridge: desk.caller.<key>."""
    return prompts.text(f"desk.caller.{key}", language, **values)


def reason_words(reason: str | None, language: str) -> str:
    words = prompts.group("desk.reason", language)
    return words.get(reason or "operator") or words["operator"]


def summary(entry: QueueEntry, language: str, at: datetime) -> str:
    """Language, wait, reason; then 'upset' and 'known customer' when they are true."""
    names = prompts.group("desk.language_name", language)
    wait = max(0, int((at - entry.enqueued_at).total_seconds()))
    intro = "callback" if entry.callback_id else "intro"
    parts = [text(intro, language).format(language=names.get(entry.language, entry.language), wait=wait,
                                            reason=reason_words(entry.reason, language))]
    if entry.complaint or entry.priority:
        parts.append(text("upset", language))
    if entry.recognised:
        parts.append(text("known", language))
    return " ".join(parts)
