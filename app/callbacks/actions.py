"""Flow actions for flows/callback_booking.yaml and flows/callback_opener.yaml (contract 2).

Slots these actions share with the flows (JSON values; times as ISO UTC strings):
    callback_when_raw   what the caller said/pressed for the time (capture)
    callback_pick_raw   what they said/pressed when offered slots (capture)
    callback_at         the time being confirmed;   callback_when_text  it, read back
    callback_offers     offered times;              callback_options   "per ... prema 1; ..."
    callback_why        why the wanted time was not possible (spoken before the offers)
    callback_refusal    why no callback can be booked to this number at all ("impossible")
    callback_reason     what the callback is about (support's actions set "operator"...)
    callback_existing_id / callback_existing_text   a callback already booked for this number
    callback_id         the booked (or, in the opener, the dialled) callback
Caller input never raises: it is an outcome. Outcomes are declared on each action.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import signals
from app.callbacks import booking, service
from app.callbacks.models import SCHEDULED, Callback
from app.campaigns.models import Campaign
from app.clock import as_utc
from app.consent.contacts import find_by_number, get_or_create
from app.flows import anger, vocab
from app.flows.actions import ActionContext, Actions
from app.flows.engine import get_engine
from app.flows.render import LOCALES
from app.models import CallStep
from app.refusals import Refusal

# This package's flow actions; init_app registers them with the app.
ACTIONS = Actions()

log = logging.getLogger(__name__)

MAX_UNCLEAR = 3
# The words for "the first/second/third" offered time and for "another time" are the concepts
# first, second, third and other_time of vocab/<lang>.yaml of the flows directory.
ORDINALS = ("first", "second", "third")


def _language(ctx: ActionContext) -> str:
    return ctx.language if ctx.language in LOCALES else "en"


def _said(ctx: ActionContext, slot: str) -> str:
    value = ctx.slots.get(slot)
    if value in (None, ""):
        value = (ctx.params or {}).get("Digits") or (ctx.params or {}).get("SpeechResult") or ""
    return str(value).strip()[:300]


def _zone(ctx: ActionContext) -> ZoneInfo:
    return ZoneInfo(ctx.slots.get("callback_zone") or ctx.settings.callback_default_time_zone)


def _contact(ctx: ActionContext) -> Any:
    e164 = ctx.slots.get("callback_e164")
    if not e164:
        return None
    if ctx.contact is not None and getattr(ctx.contact, "e164", None) == e164:
        return ctx.contact
    return find_by_number(ctx.session, e164) or get_or_create(
        ctx.session, e164, source=f"callback booked on call {ctx.call.call_sid}", at=ctx.now,
        simulated=bool(ctx.call.simulated))


def _set_when(ctx: ActionContext, moment: datetime) -> None:
    ctx.slots["callback_at"] = as_utc(moment).isoformat()
    ctx.slots["callback_when_text"] = booking.when_text(moment, _zone(ctx), _language(ctx), ctx.now)


def _set_offers(ctx: ActionContext, verdict: booking.Verdict, understood: str) -> str:
    """Offer the verdict's slots, first saying why, with the time we understood."""
    if not verdict.offers:
        return _impossible(ctx, verdict.rule_id)
    lang = _language(ctx)
    ctx.slots["callback_offers"] = [as_utc(o).isoformat() for o in verdict.offers]
    ctx.slots["callback_options"] = booking.options_text(verdict.offers, _zone(ctx), lang, ctx.now)
    ctx.slots["callback_why"] = booking.why_text(verdict.why, lang, understood)
    return "offer"


def _impossible(ctx: ActionContext, rule_id: str | None) -> str:
    """No callback to this number: the caller is told why (never a bare no), then offered a person."""
    if rule_id:
        log.info("callback refused by consent rule %s on call %s", rule_id, ctx.call.call_sid)
    ctx.slots["callback_refusal"] = booking.refusal_text(rule_id, _language(ctx))
    return "impossible"


def _understood(ctx: ActionContext, moment: datetime) -> str:
    return booking.understood_text(moment, _zone(ctx), _language(ctx), ctx.now)


# The flow a caller came from says what the callback is about (and where "yes" leads later).
REASON_OF_FLOW = {"operator": "operator", "fault_report": "fault", "warranty_claim": "warranty",
                  "delivery_status": "delivery", "complaint": "complaint"}


def _origin_flow(ctx: ActionContext) -> str | None:
    """The flow that jumped to the booking (the engine logs each jump as a step of the call)."""
    if ctx.call.id is None:
        return None
    target = ctx.flow or "callback_booking"
    # The turn under way has not written its steps yet: look at them first.
    for step in reversed(ctx.steps):
        if step.get("kind") == "jump" and step.get("outcome") == target:
            return step.get("flow")
    return ctx.session.scalars(
        select(CallStep.flow).where(CallStep.call_id == ctx.call.id, CallStep.kind == "jump",
                                    CallStep.outcome == target)
        .order_by(CallStep.id.desc()).limit(1)
    ).first()


@ACTIONS.action("callback_prepare", outcomes=("ok", "existing", "no_number", "impossible"))
def prepare(ctx: ActionContext) -> str:
    """Who we would call back, in which zone, whether any callback to them is possible at all,
    and whether they already have one."""
    e164 = booking.callee_number(ctx.call)
    if e164 is None:
        return "no_number"
    ctx.slots["callback_e164"] = e164
    ctx.slots["callback_unclear"] = 0
    contact = ctx.contact if getattr(ctx.contact, "e164", None) == e164 else find_by_number(ctx.session, e164)
    ctx.slots["callback_zone"] = booking.resolve_zone(contact, e164, ctx.hotline,
                                                      ctx.settings.callback_default_time_zone)
    origin = _origin_flow(ctx)
    ctx.slots["callback_origin_flow"] = origin
    if not ctx.slots.get("callback_reason"):
        ctx.slots["callback_reason"] = ("campaign" if ctx.slots.get("campaign_id")
                                        else REASON_OF_FLOW.get(origin or "", "support"))
    callee = _contact(ctx)
    never = booking.final_refusal(ctx.session, callee, now=ctx.now, settings=ctx.settings) if callee else None
    if never is not None:
        return _impossible(ctx, never)
    existing = service.pending_for_number(ctx.session, e164)
    if existing is not None and existing.id != ctx.slots.get("callback_id"):
        ctx.slots["callback_existing_id"] = existing.id
        ctx.slots["callback_existing_text"] = booking.when_text(
            existing.due_at, _zone(ctx), _language(ctx), ctx.now)
        return "existing"
    ctx.slots.pop("callback_existing_id", None)
    return "ok"


@ACTIONS.action("callback_when_options", outcomes=("tonight", "tomorrow"))
def when_options(ctx: ActionContext) -> str:
    """Which quick times to offer: "this evening" only while it can still be booked, in the
    callee's own time zone."""
    return "tonight" if booking.this_evening_open(ctx.now, _zone(ctx), ctx.settings) else "tomorrow"


@ACTIONS.action("callback_parse_time", outcomes=("ok", "offer", "unclear", "give_up", "impossible", "angry"))
def parse_time(ctx: ActionContext) -> str:
    """A quick key (1/2/3) or a day and time in words -> confirm, or the nearest slots. Anger
    comes first, on inbound and outbound calls alike: "domani alle tre, è la terza volta che
    chiamo" is "angry" (the flow apologises and records the complaint), then the same words
    are read again for the time."""
    said = _said(ctx, "callback_when_raw")
    if _vented(ctx, said):
        ctx.slots["callback_when_raw"] = said
        return "angry"
    wanted = booking.wanted_time(said, _language(ctx), ctx.now, _zone(ctx), ctx.settings)
    ctx.slots.pop("callback_when_raw", None)
    if wanted is None:
        return _unclear(ctx)
    return _judge(ctx, wanted)


def _vented(ctx: ActionContext, said: str) -> bool:
    """Anger in the caller's or callee's words, not yet acknowledged on this call (outbound
    calls included: a callee who books a callback in anger is apologised to as well)."""
    if ctx.slots.get("complaint_ref") or said.isdigit():
        return False
    mood = anger.assess(said, _language(ctx))
    if not mood.escalate:
        return False
    ctx.slots.update(mood.complaint_slots(said))
    return True


def _unclear(ctx: ActionContext) -> str:
    ctx.slots["callback_unclear"] = int(ctx.slots.get("callback_unclear") or 0) + 1
    return "give_up" if ctx.slots["callback_unclear"] >= MAX_UNCLEAR else "unclear"


def _judge(ctx: ActionContext, wanted: booking.Wanted) -> str:
    contact = _contact(ctx)
    if contact is None:
        return _impossible(ctx, None)
    if wanted.days:
        return _offer_days(ctx, contact, wanted.days)
    if wanted.until is not None:
        return _offer_window(ctx, contact, wanted.at, wanted.until)
    verdict = booking.evaluate(ctx.session, contact, wanted.at, now=ctx.now, settings=ctx.settings,
                               exclude_id=ctx.slots.get("callback_existing_id"))
    if verdict.ok:
        _set_when(ctx, wanted.at)
        return "ok"
    if verdict.rule_id:
        log.info("callback time refused by consent rule %s; offering %d slots", verdict.rule_id,
                 len(verdict.offers))
    return _set_offers(ctx, verdict, _understood(ctx, wanted.at))


def _offer_window(ctx: ActionContext, contact: Any, start: datetime, end: datetime) -> str:
    """Only a part of a day was said ("domani pomeriggio"): never a guessed hour, but concrete
    times inside it to choose from; when none is possible there, the nearest ones, saying so."""
    exclude = ctx.slots.get("callback_existing_id")
    window = booking.window_text(start, end, _zone(ctx), _language(ctx), ctx.now)
    offers = booking.window_slots(ctx.session, contact, start, end, now=ctx.now, settings=ctx.settings,
                                  exclude_id=exclude)
    if offers:
        return _set_offers(ctx, booking.Verdict(False, "window", offers), window)
    nearest = booking.nearest_slots(ctx.session, contact, start, now=ctx.now, settings=ctx.settings,
                                    exclude_id=exclude)
    why = "past" if end <= ctx.now + booking.MIN_LEAD else "closed"
    return _set_offers(ctx, booking.Verdict(False, why, nearest), window)


def _offer_days(ctx: ActionContext, contact: Any, days: tuple[tuple[datetime, datetime], ...]) -> str:
    """A week without its day ("next week"): the week understood, then concrete times on days
    spread over it; when none is possible there, the nearest ones, saying so."""
    exclude = ctx.slots.get("callback_existing_id")
    window = booking.days_text(days, _zone(ctx), _language(ctx), ctx.now)
    offers = booking.days_slots(ctx.session, contact, days, now=ctx.now, settings=ctx.settings, exclude_id=exclude)
    if offers:
        return _set_offers(ctx, booking.Verdict(False, "window", offers), window)
    nearest = booking.nearest_slots(ctx.session, contact, days[0][0], now=ctx.now, settings=ctx.settings,
                                    exclude_id=exclude)
    return _set_offers(ctx, booking.Verdict(False, "closed", nearest), window)


@ACTIONS.action("callback_pick_offer", outcomes=("ok", "other", "offer", "unclear", "give_up", "impossible"))
def pick_offer(ctx: ActionContext) -> str:
    """The caller picks an offered slot by key or words ("the second"), asks for another time
    (0, "another time"), or simply says a new day and time."""
    said = _said(ctx, "callback_pick_raw")
    ctx.slots.pop("callback_pick_raw", None)
    offers = [datetime.fromisoformat(o) for o in ctx.slots.get("callback_offers") or []]
    lang = _language(ctx)
    index = _pick_index(said, lang)
    if index is not None and index < len(offers):
        _set_when(ctx, offers[index])
        return "ok"
    if said == "0" or _matches(said, vocab.for_language(lang).concepts.get("other_time", ())):
        return "other"
    wanted = booking.wanted_time(said, lang, ctx.now, _zone(ctx), ctx.settings) if not said.isdigit() else None
    if wanted is None:
        return _unclear(ctx)
    return _judge(ctx, wanted)


def _pick_index(said: str, language: str) -> int | None:
    if said.isdigit():
        return int(said) - 1 if said in ("1", "2", "3") else None
    # Venting beside the choice ("la seconda, che vergogna") is no part of it: the anger words
    # are left out before the answer is measured as short enough to be a pick.
    for found in anger.assess(said, language).matches:
        said = re.sub(rf"(?i)\b{re.escape(found)}\b", " ", said)
    words = re.sub(r"[^\w' ]", " ", said.lower()).split()
    concepts = vocab.for_language(language).concepts
    for index, ordinal in enumerate(ORDINALS):
        if any(name in words for name in concepts.get(ordinal, ())) and len(words) <= 4:
            return index
    return None


def _matches(said: str, phrases: Sequence[str]) -> bool:
    text = said.lower()
    return any(fuzz.partial_ratio(p, text) >= 90 for p in phrases if len(text) >= 3)


@ACTIONS.action("book_callback", outcomes=("booked", "offer", "impossible"))
def book_callback(ctx: ActionContext) -> str:
    """Save the confirmed time (or move the caller's existing callback to it), re-checking
    lawfulness and capacity: the caller may have taken a while to confirm."""
    at_iso = ctx.slots.get("callback_at")
    contact = _contact(ctx)
    if not at_iso or contact is None:
        return _impossible(ctx, None)
    due = datetime.fromisoformat(at_iso)
    existing_id = ctx.slots.get("callback_existing_id")
    verdict = booking.evaluate(ctx.session, contact, due, now=ctx.now, settings=ctx.settings,
                               exclude_id=existing_id)
    if not verdict.ok:
        return _set_offers(ctx, verdict, _understood(ctx, due))
    by = f"call:{ctx.call.call_sid}"
    capacity = ctx.settings.callback_slot_capacity
    try:
        cb = _book_or_move(ctx, contact, due, existing_id, by=by, capacity=capacity)
    except Refusal as refusal:
        if refusal.code != "slot_full":
            raise
        # Filled up by someone else while this caller confirmed: offer the nearest free times.
        return _set_offers(ctx, booking.Verdict(False, "full", booking.nearest_slots(
            ctx.session, contact, due, now=ctx.now, settings=ctx.settings, exclude_id=existing_id)),
            _understood(ctx, due))
    if contact.language is None:
        contact.language = _language(ctx)
    ctx.slots["callback_id"] = cb.id
    ctx.slots["callback_booked"] = True
    _set_when(ctx, cb.due_at)
    return "booked"


def _book_or_move(ctx: ActionContext, contact: Any, due: datetime, existing_id: Any, *, by: str,
                  capacity: int) -> Callback:
    """The confirmed time, stored; the slot's capacity holds whoever books at the same moment."""
    if existing_id:
        cb = service.move(ctx.session, int(existing_id), due, at=ctx.now, by=by, note="asked by the callee",
                          capacity=capacity)
        cb.language = _language(ctx)
    else:
        cb = service.book(ctx.session, service.Booking(
            e164=ctx.slots["callback_e164"], due_at=due, time_zone=str(_zone(ctx)), language=_language(ctx),
            reason=str(ctx.slots.get("callback_reason") or "support"),
            origin="campaign" if ctx.slots.get("campaign_id") else "call",
            origin_call_sid=ctx.call.call_sid,
            origin_flow=ctx.slots.get("callback_origin_flow") or ctx.flow,
            campaign_id=_campaign_id(ctx.session, ctx.slots.get("campaign_id")),
            offer_id=_str_or_none(ctx.slots.get("offer_id")), contact_id=contact.id,
        ), at=ctx.now, by=by, capacity=capacity)
    return cb


def _campaign_id(session: Session, value: Any) -> int | None:
    """The campaign a script's slot names, if it is one we have (a callback refers to it)."""
    try:
        key = int(str(value))
    except ValueError:
        return None
    return key if session.get(Campaign, key) is not None else None


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)[:64]


@ACTIONS.action("callback_cancel_existing", outcomes=("ok",))
def cancel_existing(ctx: ActionContext) -> str:
    """The callee cancels the callback they had booked (by calling the hotline)."""
    existing_id = ctx.slots.pop("callback_existing_id", None)
    if existing_id:
        try:
            service.cancel(ctx.session, int(existing_id), at=ctx.now, by=f"call:{ctx.call.call_sid}",
                           reason="cancelled by the callee on the phone")
        except (ValueError, LookupError) as exc:  # it rang or was cancelled meanwhile
            log.info("callback %s not cancelled: %s", existing_id, exc)
    return "ok"


@ACTIONS.action("callback_answered", outcomes=("operator", "menu", "campaign"))
def answered(ctx: ActionContext) -> str:
    """The callee said it is a good time. A campaign script that can go on by itself (a survey)
    picks up where they asked us to call later; otherwise to an operator when that is what they
    asked for (or a campaign's offer, which a person discusses), else to the support menu."""
    cb = ctx.session.get(Callback, ctx.slots.get("callback_id") or 0)
    reason = cb.reason if cb is not None else ctx.slots.get("callback_reason")
    ctx.slots["callback_reason"] = reason or "support"
    if reason == "campaign" and cb is not None:
        slots = _campaign_script(ctx, cb)
        if slots is not None:
            ctx.slots.update(slots)
            return "campaign"
    return "operator" if reason in ("operator", "queue_timeout", "campaign", "complaint", "fault") else "menu"


def _first_call(ctx: ActionContext, cb: Callback, most: int = 10) -> str | None:
    """The call a chain of callbacks began with: "later" said again on a callback books the
    next one from the callback's own call, but the script belongs to the campaign's call."""
    origin = cb.origin_call_sid
    for _ in range(most):
        earlier = ctx.session.scalar(select(Callback.origin_call_sid).where(Callback.call_sid == origin))
        if not earlier:
            break
        origin = earlier
    return origin


def _campaign_script(ctx: ActionContext, cb: Callback) -> dict[str, Any] | None:
    """The slots to go on with the campaign's flow, if the campaign says so and that flow has a
    `resume:` node to go on from."""
    flows = get_engine().flows
    for _receiver, slots in signals.campaign_resume.send(
            ctx, session=ctx.session, campaign_id=cb.campaign_id, origin_call_sid=_first_call(ctx, cb),
            language=ctx.language):
        if slots:
            flow = flows.get(str(slots.get("campaign_flow") or ""))
            if flow is not None and flow.resume:
                return dict(slots)
            log.info("callback %s: campaign flow %r cannot go on by itself", cb.id, slots.get("campaign_flow"))
    return None


__all__ = [
    "SCHEDULED",
    "answered",
    "book_callback",
    "cancel_existing",
    "parse_time",
    "pick_offer",
    "prepare",
]
