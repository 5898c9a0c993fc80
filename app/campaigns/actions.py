"""Flow actions of the campaign scripts (contract 2).

campaign_survey_satisfaction  reads slot `satisfaction_raw` (a key or a spoken number 1-5)
campaign_survey_recommend     reads slot `recommend_raw` (1/2, yes/no in it, nl, en)
campaign_completed            the script ran to its end: disposition `completed`
campaign_callback_wanted      the callee chose "later": noted before jumping to callback_booking

Answers go to the attempt's `answers` (and the call's slots, for the transcript). Caller input
never raises: an answer we cannot read is the `invalid` outcome, and after two of them
`give_up` lets the script go on without that answer.
"""

from __future__ import annotations

import re
from typing import Any

from app.campaigns.dispositions import record_outcome
from app.campaigns.scripts import attempt_of
from app.flows import vocab
from app.flows.actions import ActionContext, Actions
from app.flows.matching import normalise

# This package's flow actions; init_app registers them with the app.
ACTIONS = Actions()

MAX_TRIES = 2
# Scores and one-word yes/no answers in words are the concepts one..five, yes_word and no_word
# of vocab/<lang>.yaml of the flows directory.
SCORES = ("one", "two", "three", "four", "five")


def parse_score(raw: Any, language: str) -> int | None:
    """1..5 from a key press or words such as 'direi quattro' / 'vier' / '5 stars'."""
    text = normalise(str(raw or ""))
    digits = re.findall(r"\d+", text)
    if digits:
        value = int(digits[0])
        return value if 1 <= value <= 5 else None
    concepts = vocab.for_language(language).concepts
    for word in text.split():
        for value, name in enumerate(SCORES, start=1):
            if word in {normalise(w) for w in concepts.get(name, ())}:
                return value
    return None


def parse_yes_no(raw: Any, language: str) -> bool | None:
    text = normalise(str(raw or ""))
    if text in ("1", "2"):
        return text == "1"
    words = set(text.split())
    concepts = vocab.for_language(language).concepts
    yes = bool(words & {normalise(w) for w in concepts.get("yes_word", ())})
    no = bool(words & {normalise(w) for w in concepts.get("no_word", ())})
    if yes == no:
        return None  # nothing recognised, or both ("no, yes"): ask again
    return yes


def _store(ctx: ActionContext, key: str, value: Any) -> None:
    ctx.slots[key] = value
    attempt = attempt_of(ctx.session, ctx.call.call_sid, ctx.slots)
    if attempt is not None:
        attempt.answers = {**(attempt.answers or {}), key: value}


def _answer(ctx: ActionContext, slot: str, key: str, value: Any) -> str:
    tries_key = f"{key}_tries"
    if value is None:
        ctx.slots[tries_key] = int(ctx.slots.get(tries_key, 0)) + 1
        if ctx.slots[tries_key] >= MAX_TRIES:
            _store(ctx, key, None)
            return "give_up"
        return "invalid"
    ctx.slots.pop(tries_key, None)
    _store(ctx, key, value)
    return "ok"


@ACTIONS.action("campaign_survey_satisfaction", outcomes=("ok", "invalid", "give_up"))
def survey_satisfaction(ctx: ActionContext) -> str:
    return _answer(ctx, "satisfaction_raw", "satisfaction", parse_score(ctx.slots.get("satisfaction_raw"), ctx.language))


@ACTIONS.action("campaign_survey_recommend", outcomes=("ok", "invalid", "give_up"))
def survey_recommend(ctx: ActionContext) -> str:
    return _answer(ctx, "recommend_raw", "recommend", parse_yes_no(ctx.slots.get("recommend_raw"), ctx.language))


@ACTIONS.action("campaign_completed", outcomes=("ok",))
def completed(ctx: ActionContext) -> str:
    attempt = attempt_of(ctx.session, ctx.call.call_sid, ctx.slots)
    if attempt is not None:
        record_outcome(ctx.session, attempt, "completed", ctx.now)
    return "ok"


@ACTIONS.action("campaign_callback_wanted", outcomes=("ok",))
def callback_wanted(ctx: ActionContext) -> str:
    """Remember that the person asked to be called later; the booking flow takes over."""
    ctx.slots["campaign_callback_wanted"] = True
    attempt = attempt_of(ctx.session, ctx.call.call_sid, ctx.slots)
    if attempt is not None:
        attempt.answers = {**(attempt.answers or {}), "callback_wanted": True}
    return "ok"
