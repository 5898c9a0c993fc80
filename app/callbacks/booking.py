"""Booking a callback with the person on the line: their zone, the time they want, lawful and
free slots near it, and the words we read back.

Everything is computed in the callee's time zone: contact.time_zone, else the number's first
candidate zone (phonenumbers), else the hotline's zone, else CALLBACK_DEFAULT_TIME_ZONE.
A time outside the calling window (consent.next_allowed_slots with purpose "callback") or in a
full 15-minute slot is never refused bluntly: the nearest lawful, free slots are offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app import phone, prompts
from app.callbacks import service
from app.callbacks.timeparse import parse_when
from app.campaigns.models import Campaign
from app.consent import check_call, next_allowed_slots
from app.consent.compliance import gather_facts
from app.consent.decide import decide
from app.consent.models import Contact
from app.consent.packs import pack_for
from app.flows.render import Speaker

# A callback sooner than this is not worth booking: we offer the next slots instead.
MIN_LEAD = timedelta(minutes=10)
# How far ahead a caller may book: a time further off is more likely misheard than meant
# ("in 9999999 hours"), and nobody waits a year for a call they asked for.
BOOKING_HORIZON = timedelta(days=92)
# Offered slots are this far apart, and we look this far before the wanted time for nearer ones.
OFFER_SPACING = timedelta(minutes=30)
LOOK_BEFORE = timedelta(hours=2)
MAX_OFFERS = 3
QUICK_KEYS = ("1", "2", "3")

def reason_text(reason: str | None, language: str) -> str:
    """What the opener says we call about ("... about {about}"): callback.reason.<reason>.
    A campaign's callback says the campaign's own reason (about_text), so a survey never sounds
    like a sales offer; callback.reason.campaign is for when the campaign is gone."""
    texts = prompts.group("callback.reason", language)
    return texts.get(reason or "support") or texts["support"]


def about_text(session: Session, cb: Any, language: str) -> str:
    """What a callback is about, in words: a campaign's booking carries that campaign's reason
    ("un breve sondaggio sul nostro servizio"), anything else its reason code's words."""
    if cb.reason == "campaign" and cb.campaign_id is not None:
        campaign = session.get(Campaign, cb.campaign_id)
        said = (campaign.reason or {}).get(language) if campaign is not None else None
        if said:
            return str(said)
    return reason_text(cb.reason, language)


# --- zone and number --------------------------------------------------------------------------


def callee_number(call: Any) -> str | None:
    """The other party of a call: the callee on outbound calls, the caller on inbound ones."""
    outbound = (call.direction or "").startswith("outbound")
    parsed = phone.parse_caller(call.to_number if outbound else call.from_number)
    return parsed.e164 if parsed else None


def resolve_zone(contact: Contact | None, e164: str | None, hotline: Any, default: str) -> str:
    hotline_zone = getattr(hotline, "time_zone", None) or (hotline.get("time_zone") if isinstance(hotline, dict) else None)
    if contact is not None and contact.time_zone:
        return contact.time_zone
    if e164:
        parsed = phone.parse_caller(e164)
        if parsed and parsed.time_zones:
            # A number spanning several zones (UK mobiles: London, Jersey...): the hotline's
            # zone when it is one of them, else the first candidate.
            return hotline_zone if hotline_zone in parsed.time_zones else parsed.time_zones[0]
    return hotline_zone or default


# --- the wanted time --------------------------------------------------------------------------


def quick_option(key: str, now: datetime, zone: ZoneInfo, settings: Any) -> datetime | None:
    """1 this evening, 2 tomorrow morning, 3 tomorrow evening: an aware UTC datetime."""
    local_now = now.astimezone(zone)
    evening = _wall(settings.callback_evening_time)
    morning = _wall(settings.callback_morning_time)
    today, tomorrow = local_now.date(), local_now.date() + timedelta(days=1)
    choice = {"1": (today, evening), "2": (tomorrow, morning), "3": (tomorrow, evening)}.get(key.strip())
    if choice is None:
        return None
    return _aware(choice[0], choice[1], zone)


def this_evening_open(now: datetime, zone: ZoneInfo, settings: Any) -> bool:
    """Whether "this evening" (key 1) can still be booked: its time is at least MIN_LEAD away.
    Past it, offering "this evening" would promise what the next answer has to refuse."""
    evening = quick_option("1", now, zone, settings)
    return evening is not None and evening >= now + MIN_LEAD


@dataclass(frozen=True)
class Wanted:
    """The time the caller asked for, aware UTC; `until` ends the window of a vague part of a
    day ("domani pomeriggio"), in which the caller chooses a concrete time."""

    at: datetime
    until: datetime | None = None
    # A week without its day ("next week"): the window on each of its days, aware UTC; the
    # caller chooses among concrete times spread over them.
    days: tuple[tuple[datetime, datetime], ...] = ()


def wanted_time(said: str, language: str, now: datetime, zone: ZoneInfo, settings: Any) -> Wanted | None:
    """A quick key or a day and time in the caller's words; None if not understood."""
    text = (said or "").strip()
    if text in QUICK_KEYS:
        quick = quick_option(text, now, zone, settings)
        return Wanted(quick) if quick is not None else None
    parsed = parse_when(text, language, now.astimezone(zone))
    if parsed is None:
        return None
    at = _aware(parsed.local.date(), parsed.local.time(), zone)
    if parsed.window is None:
        return Wanted(at)
    start, end = parsed.window
    # Each day's window from its own local date: a DST change inside the week moves no hour.
    days = tuple((_aware(day, start, zone), _aware(day, end, zone))
                 for day in (parsed.local.date() + timedelta(days=n) for n in range(parsed.days)))
    return Wanted(at, days[0][1], days if parsed.days > 1 else ())


def _wall(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def _aware(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: in the repeated autumn hour, the first one (zoneinfo's PEP 495 default).
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


# --- is it possible, and what else to offer ---------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    why: str = ""  # "", "past", "far", "closed", "full", "never"
    offers: list[datetime] = field(default_factory=list)
    rule_id: str | None = None


def evaluate(session: Session, contact: Contact, wanted: datetime, *, now: datetime, settings: Any,
             exclude_id: int | None = None) -> Verdict:
    """Can we call back at `wanted`? If not, up to three nearest lawful slots with room."""
    capacity = settings.callback_slot_capacity
    if wanted < now + MIN_LEAD or wanted > now + BOOKING_HORIZON:
        return Verdict(False, "past" if wanted < now + MIN_LEAD else "far",
                       nearest_slots(session, contact, now + MIN_LEAD, now=now, settings=settings,
                                     exclude_id=exclude_id))
    pack = pack_for(contact.region)
    facts = gather_facts(session, contact, purpose="callback", offer_id=None, at=wanted, pack=pack,
                         settings=settings)
    decision = decide(facts, pack, wanted)
    if not decision.allowed:
        offers = nearest_slots(session, contact, wanted, now=now, settings=settings, exclude_id=exclude_id)
        final = decision.rule_id not in ("window", "holiday")
        return Verdict(False, "never" if final and not offers else "closed", offers, decision.rule_id)
    if service.slot_load(session, wanted, exclude_id=exclude_id) >= capacity:
        return Verdict(False, "full", nearest_slots(session, contact, wanted, now=now, settings=settings,
                                                    exclude_id=exclude_id))
    return Verdict(True)


def nearest_slots(session: Session, contact: Contact, wanted: datetime, *, now: datetime, settings: Any,
                  exclude_id: int | None = None) -> list[datetime]:
    """Lawful slots with room, nearest to `wanted` first considered, returned in time order."""
    start = max(now + MIN_LEAD, wanted - LOOK_BEFORE)
    candidates = next_allowed_slots(session, contact, purpose="callback", offer_id=None, after=start,
                                    count=12, spacing=OFFER_SPACING, settings=settings)
    free = [c for c in candidates
            if service.slot_load(session, c, exclude_id=exclude_id) < settings.callback_slot_capacity]
    free.sort(key=lambda c: (abs(c - wanted), c))
    return sorted(free[:MAX_OFFERS])


def window_slots(session: Session, contact: Contact, start: datetime, end: datetime, *, now: datetime,
                 settings: Any, exclude_id: int | None = None) -> list[datetime]:
    """Up to three lawful slots with room inside [start, end), spread over it (first, middle,
    last), for a caller who named only a part of a day."""
    after = max(now + MIN_LEAD, start)
    count = max(1, int((end - after) / OFFER_SPACING) + 1)
    candidates = next_allowed_slots(session, contact, purpose="callback", offer_id=None, after=after,
                                    count=min(count, 24), spacing=OFFER_SPACING, settings=settings)
    free = [c for c in candidates if c < end
            and service.slot_load(session, c, exclude_id=exclude_id) < settings.callback_slot_capacity]
    if len(free) <= MAX_OFFERS:
        return free
    return [free[0], free[len(free) // 2], free[-1]]


def days_slots(session: Session, contact: Contact, days: tuple[tuple[datetime, datetime], ...], *,
               now: datetime, settings: Any, exclude_id: int | None = None) -> list[datetime]:
    """For a caller who named a week but no day: the first lawful slot with room on each day,
    up to three of those days spread over the week (first, middle, last)."""
    firsts = []
    for start, end in days:
        free = window_slots(session, contact, start, end, now=now, settings=settings, exclude_id=exclude_id)
        if free:
            firsts.append(free[0])
    if len(firsts) <= MAX_OFFERS:
        return firsts
    return [firsts[0], firsts[len(firsts) // 2], firsts[-1]]


def still_allowed(session: Session, contact: Contact, due: datetime, *, settings: Any) -> bool:
    """Re-check at booking time (the caller may have taken a while to confirm)."""
    pack = pack_for(contact.region)
    facts = gather_facts(session, contact, purpose="callback", offer_id=None, at=due, pack=pack,
                         settings=settings)
    return decide(facts, pack, due).allowed


# --- words ------------------------------------------------------------------------------------


def when_text(moment: datetime, zone: ZoneInfo, language: str, now: datetime) -> str:
    """"domani, giovedì 26 novembre, alle 18:30" in the callee's zone and language."""
    return Speaker(language, zone, now).datetime(moment)


def options_text(offers: list[datetime], zone: ZoneInfo, language: str, now: datetime) -> str:
    """"per domani, ... alle 9:00 prema 1; per ... prema 2" (the keys are 1..n). Times on one
    day name the day once, as people do: "domani, giovedì 26 novembre, alle 9:00 prema 1; alle
    9:30 prema 2"."""
    speaker = Speaker(language, zone, now)
    days = {offer.astimezone(zone).date() for offer in offers}
    if len(offers) > 1 and len(days) == 1:
        times = [prompts.text("callback.option_at", language, when=speaker.at_time(offer), key=index)
                 for index, offer in enumerate(offers, start=1)]
        return f"{speaker.day_phrase(days.pop())} " + "; ".join(times) + "."
    parts = []
    for index, offer in enumerate(offers, start=1):
        when = when_text(offer, zone, language, now).rstrip(",")
        parts.append(prompts.text("callback.option", language, when=when, key=index))
    return "; ".join(parts) + "."


def why_text(why: str, language: str, understood: str) -> str:
    """Why the wanted time cannot be booked, saying which time we understood."""
    # {when} is the time we understood, so a caller can tell a mishearing from a closed window;
    # "window" (a part of a day) says the window we understood before concrete times in it.
    key = why if prompts.has(f"callback.why.{why}") else "closed"
    return prompts.text(f"callback.why.{key}", language, when=understood)


# A consent rule that leaves no time at all, and the words that say why to the caller
# (callback.refused.<key> in prompts/<lang>.yaml of the flows directory); any other rule: "other".
REFUSED_BY_RULE = {
    "pack.missing": "pack_missing", "number.special_service": "special_service",
    "optout.internal_dnc": "opted_out", "suppression": "opted_out", "consent.withdrawn": "consent",
    "registry.missing": "registry", "registry.stale": "registry", "zone.unknown": "zone",
}


# Rules no other time could lift: asked at any moment, a callback to the number is refused.
FINAL_RULES = frozenset({"pack.missing", "number.special_service", "optout.internal_dnc", "suppression",
                         "consent.withdrawn", "zone.unknown"})


def final_refusal(session: Session, contact: Contact, *, now: datetime, settings: Any) -> str | None:
    """The rule that refuses every callback to this contact (None: some time may be possible),
    so the caller is told at once instead of being asked for a time first."""
    pack = pack_for(contact.region)
    facts = gather_facts(session, contact, purpose="callback", offer_id=None, at=now, pack=pack,
                         settings=settings)
    decision = decide(facts, pack, now)
    return decision.rule_id if not decision.allowed and decision.rule_id in FINAL_RULES else None


def refusal_text(rule_id: str | None, language: str) -> str:
    """Why no callback can be booked to this number, as the caller hears it."""
    return prompts.text(f"callback.refused.{REFUSED_BY_RULE.get(rule_id or '', 'other')}", language)


def understood_text(moment: datetime, zone: ZoneInfo, language: str, now: datetime) -> str:
    """"alle 21:00" today; "domani, sabato 14 marzo, alle 21:00" on another day."""
    speaker = Speaker(language, zone, now)
    if moment.astimezone(zone).date() == speaker.now.date():
        return speaker.at_time(moment)
    return speaker.datetime(moment)


def window_text(start: datetime, end: datetime, zone: ZoneInfo, language: str, now: datetime) -> str:
    """"domani, sabato 14 marzo, tra le 14:00 e le 18:00"."""
    speaker = Speaker(language, zone, now)
    return f"{speaker.day_phrase(start.astimezone(zone).date())} {speaker.span(start, end)}"


def days_text(days: tuple[tuple[datetime, datetime], ...], zone: ZoneInfo, language: str, now: datetime) -> str:
    """"da lunedì 16 marzo a venerdì 20 marzo, tra le 9:00 e le 18:00": a week's window."""
    speaker = Speaker(language, zone, now)
    (first, end), (last, _end) = days[0], days[-1]
    # "oggi, mercoledì 25 novembre," closes its apposition with a comma, as before a time
    first_day, last_day = (speaker.day_phrase(d.astimezone(zone).date()) for d in (first, last))
    named = prompts.text("callback.days", language, first=first_day, last=last_day.rstrip(","))
    return f"{named} {speaker.span(first, end)}"


__all__ = ["Verdict", "Wanted", "callee_number", "check_call", "days_slots", "days_text", "evaluate",
           "nearest_slots", "options_text", "quick_option", "reason_text", "resolve_zone", "still_allowed",
           "understood_text", "wanted_time", "when_text", "why_text", "window_slots", "window_text"]
