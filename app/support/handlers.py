"""What the support flows do at their action nodes, as plain functions of an ActionContext.

actions.py registers each one with the flow engine under its name and outcomes;
they live here, free of the engine, so tests can drive them with any object that has the
ActionContext fields (session, call, slots, language, now, settings, params, hotline, contact).

Conventions: every handler returns one of its declared outcomes and never raises for bad input
from the caller (that is an outcome); slots hold JSON (dates as ISO text, for {slot|date});
numbers read back digit by digit go through {slot|digits} in the prompts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app import prompts
from app.calls import add_step
from app.flows import anger, hours, matching
from app.flows import vocab as vocabulary
from app.models import TERMINAL_STATUSES, Call
from app.phone import parse_caller
from app.support import faq, orders, services, subjects, warranty
from app.support.models import CustomerProduct, Product, Ticket
from app.support.recognition import recognise

log = logging.getLogger(__name__)

# Speech below this confidence is not trusted for a free description: we record instead.
MIN_SPEECH_CONFIDENCE = 0.45
MAX_PRODUCTS_OFFERED = 5
DEFAULT_MAX_QUEUE = 10
OPERATOR_FLOW = "operator"
QUEUE_NODE = "enqueue"
PRIORITY_QUEUE_SUFFIX = "-priority"

# Product families offered when the caller owns nothing we know of: key or word -> category.
PRODUCT_FAMILIES: dict[str, str | None] = {
    "1": "router", "modem": "router", "router": "router", "internet": "router",
    "2": "tv", "tv": "tv", "televisore": "tv", "televisione": "tv", "televisie": "tv", "television": "tv",
    "3": "smartphone", "smartphone": "smartphone", "telefono": "smartphone", "cellulare": "smartphone",
    "telefoon": "smartphone", "mobiel": "smartphone", "phone": "smartphone", "mobile": "smartphone",
}


# --------------------------------------------------------------------------------------------
# helpers


def _step(ctx: Any, kind: str, outcome: str, input: str | None = None) -> None:
    """A meaningful line in the call's history, beyond the engine's own node/outcome step."""
    ctx.add_step(kind, input=input, outcome=outcome)


def _caller_number(ctx: Any) -> str | None:
    parsed = parse_caller(ctx.call.from_number)
    return parsed.e164 if parsed else None


def _caller_ref(ctx: Any) -> services.CallerRef:
    contact = getattr(ctx, "contact", None)
    hotline = getattr(ctx, "hotline", None)
    return services.CallerRef(
        number=_caller_number(ctx) or ctx.call.from_number or None,
        contact_id=getattr(contact, "id", None),
        call_sid=ctx.call.call_sid,
        language=ctx.language,
        hotline=getattr(hotline, "number", None) or ctx.call.to_number or None,
    )


def _said(ctx: Any) -> str:
    params: Mapping[str, str] = ctx.params or {}
    return (params.get("SpeechResult") or params.get("Digits") or "").strip()


def _confidence(ctx: Any) -> float | None:
    raw = (ctx.params or {}).get("Confidence")
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _today(ctx: Any) -> date:
    """Today where the hotline is (a purchase "today" in Rome is still today at 23:30 UTC)."""
    zone = getattr(getattr(ctx, "hotline", None), "time_zone", None)
    if zone:
        try:
            return ctx.now.astimezone(ZoneInfo(zone)).date()
        except Exception:
            log.warning("hotline time zone %r unknown; using UTC dates", zone)
    return ctx.now.date()


def _country(ctx: Any) -> str | None:
    hotline = getattr(ctx, "hotline", None)
    country = getattr(hotline, "country", None)
    if country:
        return str(country).upper()
    parsed = parse_caller(ctx.call.from_number)
    return parsed.region if parsed else None


def _operator_config(ctx: Any) -> Mapping[str, Any]:
    operator = getattr(getattr(ctx, "hotline", None), "operator", None)
    if operator is None:
        return {}
    if isinstance(operator, Mapping):
        return operator
    return {k: getattr(operator, k, None) for k in ("queue", "number", "max_queue", "hours")}


def _bump_failures(ctx: Any) -> int:
    ctx.slots["failures"] = int(ctx.slots.get("failures") or 0) + 1
    return ctx.slots["failures"]


# --------------------------------------------------------------------------------------------
# caller recognition


def identify_caller(ctx: Any) -> str:
    """Greet known callers by name and offer their open order or ticket first.

    outcomes: order (slot open_order), ticket (slot open_ticket), known (slot caller_name), unknown
    """
    known = recognise(ctx.session, _caller_number(ctx))
    contact = getattr(ctx, "contact", None)
    name = getattr(contact, "name", None) or known.name
    # First name only: "buongiorno Giulia", not "buongiorno Giulia Rossi"; always set, so a
    # prompt with {caller_name} never meets a missing slot.
    ctx.slots["caller_name"] = name.split()[0] if name else ""
    if known.open_order:
        ctx.slots["open_order"] = known.open_order
        outcome = "order"
    elif known.open_ticket:
        ctx.slots["open_ticket"], ctx.slots["open_ticket_kind"] = known.open_ticket
        outcome = "ticket"
    else:
        outcome = "known" if name else "unknown"
    _step(ctx, "support.identify", outcome)
    return outcome


def use_open_order(ctx: Any) -> str:
    """The caller said yes to "are you calling about your order ...?"; outcomes: ok"""
    ctx.slots["order_number"] = ctx.slots.get("open_order")
    return "ok"


# --------------------------------------------------------------------------------------------
# mood


def check_mood(ctx: Any) -> str:
    """After input that matched nothing: anger in the words escalates to a complaint; too many
    failures without anger hand the caller to a person (with priority).

    outcomes: angry, stuck, calm
    """
    said = _said(ctx)
    failures = _bump_failures(ctx)
    assessment = anger.assess(said, ctx.language, failures=failures)
    if assessment.level == "stuck":
        ctx.slots["priority"] = True
        _step(ctx, "support.stuck", str(failures), input=said)
        return "stuck"
    return "angry" if _note_anger(ctx, assessment, said, menu=True) else "calm"


def vent_check(ctx: Any) -> str:
    """After words that *did* pick a menu choice ("è una vergogna, il modem non funziona!"):
    venting still comes first, so the caller is acknowledged before anything else.

    outcomes: angry, calm (keys, or calm words)
    """
    said = str((ctx.params or {}).get("SpeechResult") or "").strip()
    if not said:
        return "calm"
    return "angry" if _note_anger(ctx, anger.assess(said, ctx.language), said, menu=True) else "calm"


def vent(ctx: Any) -> str:
    """Any spoken answer, checked first by the flow engine wherever the flow does not check
    anger itself (outbound openers and scripts, yes/no questions, product and slot choices):
    anger is recorded as a complaint once per call, the engine apologises, and the same answer
    is then read as usual, so the caller's real problem is still solved.

    outcomes: angry, calm
    """
    said = str((ctx.params or {}).get("SpeechResult") or "").strip()
    if not said or ctx.slots.get("complaint_ref"):
        return "calm"
    mood = anger.assess(said, ctx.language, failures=int(ctx.slots.get("failures") or 0))
    if not _note_anger(ctx, mood, said):
        return "calm"
    record_complaint(ctx)
    return "angry"


def _note_anger(ctx: Any, assessment: anger.AngerAssessment, said: str, *, menu: bool = False) -> bool:
    """Keep what an upset caller said for the complaint; True when it escalates. At the menu,
    a question the knowledge answers ("ladri, mi avete addebitato due volte") keeps its answer
    for after the apology (slot complaint_answer)."""
    if not assessment.escalate:
        return False
    ctx.slots.update(assessment.complaint_slots(said))
    _step(ctx, "support.anger", assessment.level, input=said)
    found = _menu_topic(ctx, said) if menu else None
    if found is not None:
        ctx.slots["complaint_answer"] = found.topic.answer
        _step(ctx, "support.faq", f"menu:{found.topic.id}", input=said)
    return True


def record_complaint(ctx: Any) -> str:
    """A complaint ticket flagged for review, priority high; outcomes: ok (slot complaint_ref)"""
    existing = services.ticket_for_call(ctx.session, ctx.call.call_sid, "complaint")
    if existing is None:
        existing = services.create_ticket(
            ctx.session, kind="complaint", at=ctx.now, caller=_caller_ref(ctx), priority="high",
            flagged=True, subject_code=subjects.upset(ctx.slots.get("anger_level")),
            description=ctx.slots.get("complaint_text") or None,
            details={"anger_words": ctx.slots.get("anger_words"), "flow": ctx.call.flow,
                     "node": ctx.call.node, "failures": ctx.slots.get("failures", 0)},
        )
    ctx.slots["complaint_ref"] = existing.reference
    ctx.slots["priority"] = True
    _step(ctx, "support.complaint", "ok", input=existing.reference)
    return "ok"


# --------------------------------------------------------------------------------------------
# information (FAQ)


def answer_question(ctx: Any) -> str:
    """Find the topic for a key press or a question in words. Anger comes first: "ladri, mi
    avete addebitato due volte" is an apology and a complaint, and the answer found for the
    question is kept (slot complaint_answer) for the complaint flow to give after the apology.

    outcomes: answered (slots faq_topic, faq_title, faq_answer), unanswered, angry, invalid (a
    key that is no topic: a slip of the finger, not a question for the team)
    """
    said = (ctx.slots.get("faq_question") or _said(ctx)).strip()
    try:
        knowledge = faq.load(ctx.language)
    except faq.FaqError:
        log.exception("no usable knowledge file for %s", ctx.language)
        knowledge = None
    found = faq.match(knowledge, said) if knowledge else None
    mood = anger.assess(said, ctx.language, failures=int(ctx.slots.get("failures") or 0))
    if _note_anger(ctx, mood, said):
        if found is not None:
            ctx.slots["complaint_answer"] = found.topic.answer
            _step(ctx, "support.faq", f"answered:{found.topic.id}", input=said)
        return "angry"
    if found is None and said and all(ch.isdigit() or ch in "*#" for ch in said):
        _bump_failures(ctx)
        _step(ctx, "support.faq", "invalid_key", input=said)
        return "invalid"
    if found is None:
        ctx.slots["unanswered_question"] = said
        _step(ctx, "support.faq", "unanswered", input=said)
        return "unanswered"
    ctx.slots.update(faq_topic=found.topic.id, faq_title=found.topic.title, faq_answer=found.topic.answer)
    _step(ctx, "support.faq", f"answered:{found.topic.id}", input=said)
    return "answered"


def _menu_topic(ctx: Any, said: str) -> faq.FaqMatch | None:
    """The FAQ topic words said at the main menu ask about, when they clearly do."""
    try:
        found = faq.match(faq.load(ctx.language), said, threshold=faq.MENU_THRESHOLD) if said else None
    except faq.FaqError:
        log.exception("no usable knowledge file for %s", ctx.language)
        return None
    return found if found is not None and found.how == "words" else None


def menu_question(ctx: Any) -> str:
    """Words at the main menu that chose no option may be a question the knowledge answers
    ("a che ora aprite?"): then the caller hears that answer, not "I didn't understand".

    outcomes: answered (the FAQ flow starts at its answer), unanswered
    """
    said = _said(ctx)
    found = _menu_topic(ctx, said)
    if found is None:
        return "unanswered"
    ctx.slots.update(faq_question=said, faq_from_menu=True)
    _step(ctx, "support.faq", f"menu:{found.topic.id}", input=said)
    return "answered"


def general_question(ctx: Any) -> str:
    """Words that chose a delivery, a warranty or a fault at the menu but ask how things are
    done or cost ("How much do you charge for delivery?", "come funziona il reso?"): the
    knowledge's answer, when it clearly has one, rather than a tracking or a claim.

    outcomes: answered (the FAQ flow starts at its answer), request
    """
    words = matching.normalise(_said(ctx)).split()
    if not matching.says(words, vocabulary.for_language(ctx.language).general_questions):
        return "request"
    return "answered" if menu_question(ctx) == "answered" else "request"


def faq_entry(ctx: Any) -> str:
    """Where the FAQ flow begins: at the answer when the menu already heard the question, as
    words that matched nothing else, or with the information option ("I have a question about
    my bill"); else at the question.

    outcomes: asked, ask
    """
    if ctx.slots.pop("faq_from_menu", None) and ctx.slots.get("faq_question"):
        return "asked"
    said = str((ctx.params or {}).get("SpeechResult") or "").strip()
    if said and _menu_topic(ctx, said) is not None:
        ctx.slots["faq_question"] = said
        return "asked"
    return "ask"


def pending_answer(ctx: Any) -> str:
    """After the apology: the answer to the question an upset caller asked, if we have one.

    outcomes: answer (slot complaint_answer), none
    """
    return "answer" if ctx.slots.get("complaint_answer") else "none"


def log_unanswered(ctx: Any) -> str:
    """Log the question for the team (ticket kind unanswered_question); outcomes: ok"""
    question = ctx.slots.get("unanswered_question") or ctx.slots.get("faq_question") or ""
    if not services.ticket_for_call(ctx.session, ctx.call.call_sid, "unanswered_question"):
        ticket = services.create_ticket(
            ctx.session, kind="unanswered_question", at=ctx.now, caller=_caller_ref(ctx),
            priority="low", subject=question[:200] or None, description=question or None,
        )
        ctx.slots["question_ref"] = ticket.reference
    return "ok"


# --------------------------------------------------------------------------------------------
# fault report


def offer_products(ctx: Any) -> str:
    """outcomes: one (slots product_name, customer_product_id), several (slot product_menu), none"""
    units = services.products_of(ctx.session, _caller_number(ctx))[:MAX_PRODUCTS_OFFERED]
    if not units:
        return "none"
    if len(units) == 1:
        _choose_unit(ctx, units[0])
        return "one"
    ctx.slots["product_menu"] = "; ".join(
        f"{i}: {u.product.spoken_name(ctx.language)}" for i, u in enumerate(units, start=1)
    )
    ctx.slots["product_ids"] = [u.id for u in units]
    return "several"


def _choose_unit(ctx: Any, unit: CustomerProduct) -> None:
    ctx.slots.update(product_name=unit.product.spoken_name(ctx.language), customer_product_id=unit.id,
                     product_id=unit.product_id, serial=ctx.slots.get("serial") or unit.serial,
                     product_names=subjects.names(unit.product.spoken_name))


def pick_product(ctx: Any) -> str:
    """The caller typed the number of one of their products; outcomes: ok, invalid"""
    choice = str(ctx.slots.get("product_choice") or _said(ctx)).strip()
    ids = ctx.slots.get("product_ids") or []
    if not choice.isdigit() or not 1 <= int(choice) <= len(ids):
        _bump_failures(ctx)
        return "invalid"
    unit = ctx.session.get(CustomerProduct, ids[int(choice) - 1])
    if unit is None:
        return "invalid"
    _choose_unit(ctx, unit)
    return "ok"


def set_product_family(ctx: Any) -> str:
    """From the generic list (slot product_family: key 1-4 or a word; anything else is
    "another product", never a dead end); outcomes: ok"""
    words = anger.normalise(str(ctx.slots.get("product_family") or "")).split()
    category = next((PRODUCT_FAMILIES[w] for w in words if w in PRODUCT_FAMILIES), None)
    product = (
        ctx.session.scalar(select(Product).where(Product.category == category).order_by(Product.id))
        if category else None
    )
    def name(language: str) -> str:
        return (product.spoken_name(language) if product
                else prompts.text(f"support.product_family.{category or 'other'}", language))

    ctx.slots["product_name"] = name(ctx.language)
    ctx.slots["product_names"] = subjects.names(name)  # the ticket's subject in every language
    ctx.slots["product_id"] = product.id if product else None
    ctx.slots["customer_product_id"] = None
    return "ok"


def set_urgent(ctx: Any) -> str:
    """The caller is without service: the ticket is urgent; outcomes: ok"""
    ctx.slots["urgency"] = "urgent"
    return "ok"


def check_description(ctx: Any) -> str:
    """Speech we can trust, or a recording instead. Anger comes first, at any confidence: a
    caller who swears through a bad line is still apologised to and given priority, then asked
    for the recording (angry_unclear) since the words of the fault may be misheard.

    outcomes: ok, unclear, angry, angry_unclear
    """
    text = str(ctx.slots.get("fault_description") or "").strip()
    confidence = _confidence(ctx)
    mood = anger.assess(text, ctx.language, failures=int(ctx.slots.get("failures") or 0))
    # Keep the fault, and treat the person as the priority they are.
    angry = bool(text) and not ctx.slots.get("complaint_ref") and _note_anger(ctx, mood, text)
    if not text or (confidence is not None and confidence < MIN_SPEECH_CONFIDENCE):
        ctx.slots["fault_description_unclear"] = text or None
        _step(ctx, "support.description", "unclear", input=text or None)
        return "angry_unclear" if angry else "unclear"
    return "angry" if angry else "ok"


def create_fault_ticket(ctx: Any) -> str:
    """The fault ticket (or the draft of this call, completed); outcomes: ok (slot ticket_ref)"""
    urgent = ctx.slots.get("urgency") == "urgent"
    angry = bool(ctx.slots.get("angry"))
    ticket = services.ticket_for_call(ctx.session, ctx.call.call_sid, "fault")
    fields = _fault_fields(ctx)
    if ticket is None:
        ticket = services.create_ticket(
            ctx.session, kind="fault", at=ctx.now, caller=_caller_ref(ctx),
            priority="urgent" if urgent else ("high" if angry else "normal"), flagged=angry, **fields,
        )
    else:
        for key, value in fields.items():
            setattr(ticket, key, value)
        ticket.status, ticket.updated_at = "open", ctx.now
    ctx.slots["ticket_ref"] = ticket.reference
    _step(ctx, "support.ticket", "fault_created", input=ticket.reference)
    return "ok"


def _fault_fields(ctx: Any) -> dict[str, Any]:
    s = ctx.slots
    return {
        # The product in every language (an Italian operator reads a Dutch caller's ticket);
        # a call begun before names were kept has only the caller's language.
        **({"subject_code": "named", "subject_values": s["product_names"]} if s.get("product_names")
           else {"subject": s.get("product_name")}),
        "description": s.get("fault_description") or s.get("fault_description_unclear"),
        "recording_url": s.get("fault_recording") or None,
        "product_id": s.get("product_id"),
        "customer_product_id": s.get("customer_product_id"),
        "details": {"urgency": s.get("urgency"), "technician_callback": s.get("technician_callback")},
    }


@dataclass(frozen=True)
class DraftKind:
    """A report a caller can leave half-told: the slots that are their own words in it (only
    those make a draft worth keeping) and how the slots become the ticket's fields."""

    evidence: tuple[str, ...]
    fields: Callable[[Any], dict[str, Any]]


# Which slots belong to which draft. Not product_name: the fault report fills it from our own
# records before the caller says a word, and the warranty claim fills it from the serial, so
# counting it made every warranty caller who hung up a phantom fault.
DRAFTS: dict[str, DraftKind] = {
    "fault": DraftKind(
        evidence=("product_choice", "product_family", "fault_description", "fault_description_unclear",
                  "fault_recording", "urgency"),
        fields=_fault_fields,
    ),
}


def save_draft(session: Any, call: Call, at: Any) -> Any:
    """Keep what a caller said before hanging up mid report: a draft ticket.

    Called from the call_status_changed receiver (drafts.py); returns the ticket or None."""
    slots = call.slots or {}
    if slots.get("ticket_ref"):
        return None
    kind = next((k for k, d in DRAFTS.items() if any(slots.get(s) for s in d.evidence)), None)
    if kind is None or services.ticket_for_call(session, call.call_sid, kind):
        return None
    parsed = parse_caller(call.from_number)
    caller = services.CallerRef(number=parsed.e164 if parsed else call.from_number or None,
                                call_sid=call.call_sid, language=call.language,
                                hotline=call.to_number or None)
    ticket = services.create_ticket(session, kind=kind, status="draft", at=at, caller=caller,
                                    **DRAFTS[kind].fields(_SlotsOnly(slots)))
    ticket.details = {**ticket.details, "hung_up_at": {"flow": call.flow, "node": call.node}}
    add_step(session, call, at, "support.draft", outcome="draft_ticket", input=ticket.reference)
    return ticket


class _SlotsOnly:
    def __init__(self, slots: dict[str, Any]) -> None:
        self.slots = slots


def mark_technician_callback(ctx: Any) -> str:
    """The caller wants a technician to call back; noted on the ticket. outcomes: ok"""
    ctx.slots["technician_callback"] = True
    ticket = services.ticket_for_call(ctx.session, ctx.call.call_sid, "fault")
    if ticket is not None:
        ticket.details = {**(ticket.details or {}), "technician_callback": True}
        ticket.updated_at = ctx.now
    # A reason code the callback opener speaks ("the fault you reported"), see
    # app.callbacks.booking.REASONS.
    ctx.slots["callback_reason"] = "fault"
    _step(ctx, "support.callback_wanted", "fault", input=ctx.slots.get("ticket_ref"))
    return "ok"


# --------------------------------------------------------------------------------------------
# warranty


def check_serial(ctx: Any) -> str:
    """outcomes: known (slot product_name), dated (known, and our sales record has its purchase
    date, which the claim uses: the caller is not asked for it), unknown (after 2 tries the flow
    goes on to a claim for review), invalid (nothing usable typed)"""
    serial = "".join(ch for ch in str(ctx.slots.get("serial") or "") if ch.isalnum()).upper()
    if len(serial) < 4:
        _bump_failures(ctx)
        return "invalid"
    ctx.slots["serial"] = serial
    unit = services.find_unit(ctx.session, serial)
    if unit is None:
        ctx.slots["serial_misses"] = int(ctx.slots.get("serial_misses") or 0) + 1
        _step(ctx, "support.serial", "unknown", input=serial)
        return "unknown"
    _choose_unit(ctx, unit)
    _step(ctx, "support.serial", "known", input=serial)
    return "dated" if unit.purchased_on is not None else "known"


def parse_purchase(ctx: Any) -> str:
    """The purchase date typed (DDMMYYYY) or said; anger in the words first.

    outcomes: ok (slot purchase_date), invalid, angry
    """
    raw = str(ctx.slots.get("purchase_date_raw") or "").strip()
    if not ctx.slots.get("complaint_ref") and _note_anger(ctx, anger.assess(raw, ctx.language), raw):
        return "angry"  # the flow apologises, records the complaint, then reads the date
    parsed = warranty.parse_purchase_date(raw, ctx.language, _today(ctx))
    if parsed is None or parsed.year < 1990:
        _bump_failures(ctx)
        _step(ctx, "support.date", "invalid", input=raw)
        return "invalid"
    ctx.slots["purchase_date"] = parsed.isoformat()
    return "ok"


def decide_warranty(ctx: Any) -> str:
    """Decide and store the claim (a reference either way).

    outcomes: covered (the manufacturer's warranty runs, and no legal guarantee outlasts it),
    covered_both (it runs, and the legal guarantee runs longer), covered_legal (only the legal
    guarantee runs), expired (the manufacturer's warranty ended and no legal guarantee outlasted
    it), expired_both (both ended, the legal one later), future_date, review (unknown serial or
    no date). Slots: warranty_until, legal_until, covered_until (ISO dates), purchase_date.
    """
    bought = ctx.slots.get("purchase_date")
    result = services.make_claim(
        ctx.session, serial=str(ctx.slots.get("serial") or ""),
        purchased_on=date.fromisoformat(bought) if bought else None, at=ctx.now, today=_today(ctx),
        caller=_caller_ref(ctx), default_country=_country(ctx),
    )
    claim, decision = result.claim, result.decision
    ctx.slots["claim_ref"] = claim.reference
    if claim.covered_until:
        ctx.slots["covered_until"] = claim.covered_until.isoformat()
    if claim.purchased_on:
        ctx.slots["purchase_date"] = claim.purchased_on.isoformat()
    outcome = _warranty_outcome(claim.reason, decision)
    if decision is not None and decision.warranty_until is not None:
        ctx.slots["warranty_until"] = decision.warranty_until.isoformat()
        ctx.slots["legal_until"] = decision.legal_until.isoformat() if decision.legal_until else None
    _step(ctx, "support.claim", f"{claim.outcome}:{claim.reason}", input=claim.reference)
    return outcome


def _warranty_outcome(reason: str, decision: warranty.WarrantyDecision | None) -> str:
    """Which read-back: each cover is named with its own end date, never another's."""
    outlasts = bool(decision and decision.legal_until and decision.warranty_until
                    and decision.legal_until > decision.warranty_until)
    if reason == warranty.REASON_COMMERCIAL:
        return "covered_both" if outlasts else "covered"
    if reason == warranty.REASON_EXPIRED:
        return "expired_both" if outlasts else "expired"
    return {warranty.REASON_LEGAL: "covered_legal", warranty.REASON_FUTURE_DATE: "future_date"}.get(reason, "review")


# --------------------------------------------------------------------------------------------
# delivery


def lookup_order(ctx: Any) -> str:
    """outcomes: on_its_way, delivered, late, cancelled, unknown, invalid

    slots: order_number, order_status (words in the caller's language), order_expected (ISO date),
    order_delivered (ISO date), days_late"""
    number = orders.normalise_number(str(ctx.slots.get("order_number") or ""))
    if not number:
        # Nothing typed yet (the flow asks first) is not a caller failure.
        return "invalid"
    ctx.slots["order_number"] = number
    order = orders.find_order(ctx.session, number)
    if order is None:
        ctx.slots["order_misses"] = int(ctx.slots.get("order_misses") or 0) + 1
        _step(ctx, "support.order", "unknown", input=number)
        return "unknown"
    ctx.slots["order_number"] = order.number  # A4711 when the caller keyed in 4711
    state = orders.delivery_state(order, _today(ctx))
    ctx.slots.update(
        order_status=prompts.group("support.order_status", ctx.language).get(order.status, order.status),
        order_expected=order.expected_on.isoformat() if order.expected_on else None,
        order_delivered=order.delivered_on.isoformat() if order.delivered_on else None,
        days_late=state.days_late, order_id=order.id,
    )
    if state.late:
        outcome = "late"
    elif order.status == "delivered":
        outcome = "delivered"
    elif order.status in ("cancelled", "returned"):
        outcome = "cancelled"
    else:
        outcome = "on_its_way"
    _step(ctx, "support.order", outcome, input=number)
    return outcome


def open_delivery_chase(ctx: Any) -> str:
    """A late order: a delivery-chase ticket (one per order while open); outcomes: ok, existing"""
    order_id = ctx.slots.get("order_id")
    # One chase per order, whoever calls about it (the buyer, or the person it is for).
    existing = ctx.session.scalar(
        select(Ticket).where(Ticket.kind == "delivery_chase", Ticket.order_id == order_id,
                             Ticket.status.in_(services.OPEN_STATUSES)).order_by(Ticket.id)
    ) if order_id is not None else None
    if existing is not None:
        ctx.slots["chase_ref"] = existing.reference
        return "existing"
    ticket = services.create_ticket(
        ctx.session, kind="delivery_chase", at=ctx.now, caller=_caller_ref(ctx), priority="high",
        order_id=order_id, subject_code="order_late", subject_values={"order": str(ctx.slots.get("order_number") or "")},
        details={"days_late": ctx.slots.get("days_late"), "expected_on": ctx.slots.get("order_expected")},
    )
    ctx.slots["chase_ref"] = ticket.reference
    # The carrier is chased within one working day; callers hear the date we promise.
    ctx.slots["chase_by"] = _next_working_day(_today(ctx)).isoformat()
    _step(ctx, "support.ticket", "delivery_chase_created", input=ticket.reference)
    return "ok"


def _next_working_day(day: date) -> date:
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5:
        nxt += timedelta(days=1)
    return nxt


# --------------------------------------------------------------------------------------------
# operator


def queue_name(ctx: Any, priority: bool = False) -> str:
    base = str(_operator_config(ctx).get("queue") or "support")
    return base + PRIORITY_QUEUE_SUFFIX if priority else base


def waiting_in_queue(session: Any, queue_flow: str = OPERATOR_FLOW) -> int:
    """Callers waiting now: live calls parked at the operator flow's queue node."""
    return int(
        session.scalar(
            select(func.count(Call.id)).where(
                Call.flow == queue_flow, Call.node == QUEUE_NODE, Call.status.not_in(TERMINAL_STATUSES)
            )
        )
        or 0
    )


def operator_status(ctx: Any) -> str:
    """Can a person take this call now?

    outcomes: open, priority (open, and the caller is upset: priority queue), closed (slot
    opens_at), busy (queue too long), unavailable (no operator configured)
    """
    config = _operator_config(ctx)
    if not config.get("queue") and not config.get("number"):
        return "unavailable"
    try:
        opening = hours.hotline_hours(ctx.hotline)
    except hours.HoursError:
        log.exception("operator hours of hotline %s are invalid", getattr(ctx.hotline, "number", "?"))
        opening = None
    if opening is not None and not opening.is_open(ctx.now):
        nxt = opening.next_opening(ctx.now)
        ctx.slots["opens_at"] = nxt.isoformat() if nxt else None
        _step(ctx, "support.operator", "closed")
        return "closed"
    priority = bool(ctx.slots.get("priority") or ctx.slots.get("angry"))
    max_queue = int(config.get("max_queue") or DEFAULT_MAX_QUEUE)
    waiting = waiting_in_queue(ctx.session)
    ctx.slots["queue_name"] = queue_name(ctx, priority)
    # Upset callers skip the length check: sending them away is what made them upset.
    if waiting >= max_queue and not priority:
        _step(ctx, "support.operator", "busy", input=str(waiting))
        return "busy"
    ctx.slots["queue_ahead"] = waiting
    ctx.slots["queue_ahead_text"] = _ahead_text(waiting, ctx.language)
    outcome = "priority" if priority else "open"
    _step(ctx, "support.operator", outcome, input=str(waiting))
    return outcome


def _ahead_text(waiting: int, language: str) -> str:
    """'Nobody ahead of you' rather than 'there are 0 callers ahead of you'."""
    if waiting <= 0:
        return prompts.text("support.ahead.none", language)
    if waiting == 1:
        return prompts.text("support.ahead.one", language)
    return prompts.text("support.ahead.many", language, n=waiting)


def queue_result(ctx: Any) -> str:
    """After <Enqueue>: what happened (QueueResult); outcomes: bridged, left, timeout, hangup, error"""
    result = (ctx.params or {}).get("QueueResult", "")
    if ctx.slots.get("queue_timed_out"):
        outcome = "timeout"
    else:
        outcome = {"bridged": "bridged", "leave": "left", "redirected": "left", "hangup": "hangup",
                   "queue-full": "timeout"}.get(result, "error")
    _step(ctx, "support.queue", outcome, input=result or None)
    return outcome


def prefer_callback(ctx: Any) -> str:
    """Mark why a callback is booked (operator closed/busy/queue left, or an upset caller) for
    the booking flow, which speaks the reason when we call back; outcomes: ok"""
    if ctx.slots.get("angry"):
        # The callback is about their complaint: the opener says so and routes to a person.
        ctx.slots["callback_reason"] = "complaint"
        ticket = services.ticket_for_call(ctx.session, ctx.call.call_sid, "complaint")
        if ticket is not None:
            ticket.details = {**(ticket.details or {}), "callback_wanted": True}
            ticket.updated_at = ctx.now
    else:
        ctx.slots.setdefault("callback_reason", "operator")
    _step(ctx, "support.callback_wanted", str(ctx.slots["callback_reason"]))
    return "ok"


# --------------------------------------------------------------------------------------------
# language


# Name -> (handler, outcomes): what actions.py registers with the flow engine, and what the
# flow tests check every action node against.
HANDLERS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "support_identify_caller": (identify_caller, ("order", "ticket", "known", "unknown")),
    "support_use_open_order": (use_open_order, ("ok",)),
    "support_check_mood": (check_mood, ("angry", "stuck", "calm")),
    "support_vent_check": (vent_check, ("angry", "calm")),
    "support_vent": (vent, ("angry", "calm")),
    "support_record_complaint": (record_complaint, ("ok",)),
    "support_pending_answer": (pending_answer, ("answer", "none")),
    "support_answer_question": (answer_question, ("answered", "unanswered", "angry", "invalid")),
    "support_menu_question": (menu_question, ("answered", "unanswered")),
    "support_general_question": (general_question, ("answered", "request")),
    "support_faq_entry": (faq_entry, ("asked", "ask")),
    "support_log_unanswered": (log_unanswered, ("ok",)),
    "support_offer_products": (offer_products, ("one", "several", "none")),
    "support_pick_product": (pick_product, ("ok", "invalid")),
    "support_set_product_family": (set_product_family, ("ok",)),
    "support_check_description": (check_description, ("ok", "unclear", "angry", "angry_unclear")),
    "support_set_urgent": (set_urgent, ("ok",)),
    "support_create_fault_ticket": (create_fault_ticket, ("ok",)),
    "support_technician_callback": (mark_technician_callback, ("ok",)),
    "support_check_serial": (check_serial, ("known", "dated", "unknown", "invalid")),
    "support_parse_purchase_date": (parse_purchase, ("ok", "invalid", "angry")),
    "support_decide_warranty": (decide_warranty,
                                ("covered", "covered_both", "covered_legal", "expired", "expired_both",
                                 "future_date", "review")),
    "support_lookup_order": (lookup_order,
                             ("on_its_way", "delivered", "late", "cancelled", "unknown", "invalid")),
    "support_open_delivery_chase": (open_delivery_chase, ("ok", "existing")),
    "support_operator_status": (operator_status, ("open", "priority", "closed", "busy", "unavailable")),
    "support_queue_result": (queue_result, ("bridged", "left", "timeout", "hangup", "error")),
    "support_prefer_callback": (prefer_callback, ("ok",)),
}
