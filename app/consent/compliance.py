"""The database side of decisions: gather the facts, decide, store the decision.

`check_call` is what every outbound call goes through (campaign attempts and callbacks);
`next_allowed_slots` proposes lawful times for callback booking. Both run the same pure
`decide()`, so a slot offered to a caller is a slot check_call will accept (barring new facts
such as an opt-out in between).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.consent import offers
from app.consent.attempts import history_window, recent_attempts
from app.consent.decide import ConsentFact, Decision, Facts, decide
from app.consent.gdpr import is_suppressed
from app.consent.ledger import owned_offers
from app.consent.models import ComplianceDecision, ConsentRecord, Contact
from app.consent.optouts import opted_out_at
from app.consent.packs import RulePack, pack_for
from app.consent.registries import current_import, is_listed

SLOT_ROUNDING = timedelta(minutes=15)


def gather_facts(
    session: Session,
    contact: Contact,
    *,
    purpose: str,
    offer_id: str | None,
    at: datetime,
    automated: bool = False,
    pack: RulePack | None = None,
    settings: Settings | None = None,
) -> Facts:
    """Everything decide() needs about one contact, read in a handful of indexed queries."""
    e164 = contact.e164
    erased = contact.erased_at is not None
    offer_id = offers.lenient(offer_id)
    owned = owned_offers(session, contact)
    pack = pack if pack is not None else pack_for(contact.region)
    registry_listed: bool | None = None
    obtained: datetime | None = None
    if not erased and pack is not None and pack.registry is not None and purpose in pack.registry.applies_to:
        copy = current_import(session, contact.region)
        if copy is not None:
            obtained = copy.obtained_at
            registry_listed = is_listed(session, copy.id, e164)
    cooldown = pack.courtesy.same_offer_cooldown_days if pack else 30
    return Facts(
        e164=e164,
        country=contact.region,
        time_zones=tuple(contact.time_zones or ([contact.time_zone] if contact.time_zone else [])),
        purpose=purpose,
        offer_id=offer_id,
        automated=automated,
        erased=erased,
        suppressed=False if erased else is_suppressed(session, e164, settings),
        opted_out_at=None if erased else opted_out_at(session, e164),
        is_business=contact.is_business,
        legal_person=bool(contact.legal_person),
        line_type=contact.line_type,
        is_customer=contact.is_customer,
        customer_until=contact.customer_until,
        last_purchase_at=contact.last_purchase_at,
        last_inquiry_at=contact.last_inquiry_at,
        consents=_consents(session, contact.id),
        owned_offers=owned,
        offer_category=offers.category(offer_id),
        owned_categories=frozenset(c for c in map(offers.category, owned) if c),
        registry_listed=registry_listed,
        registry_obtained_at=obtained,
        attempts=recent_attempts(session, e164, since=at - history_window(cooldown)),
    )


def _consents(session: Session, contact_id: int) -> tuple[ConsentFact, ...]:
    rows = session.scalars(
        select(ConsentRecord).where(ConsentRecord.contact_id == contact_id).order_by(ConsentRecord.at, ConsentRecord.id)
    )
    return tuple(
        ConsentFact(action=r.action, channel=r.channel, purpose=r.purpose, at=r.at, written=r.written,
                    offer_ids=tuple(r.offer_ids or ()), valid_until=r.valid_until)
        for r in rows
    )


def check_call(
    session: Session,
    contact: Contact,
    *,
    purpose: str,
    offer_id: str | None,
    at: datetime,
    campaign_id: str | int | None = None,
    callback_id: str | int | None = None,
    automated: bool = False,
    settings: Settings | None = None,
    resumes_purpose: str | None = None,
) -> Decision:
    """Decide whether `contact` may be called now and store the decision with its inputs.

    Call it right before dialling; dial only when `.allowed`. Pass `settings` when running
    outside a Flask app context (the suppression check needs SUPPRESSION_HASH_KEY). A callback
    booked from a campaign passes `resumes_purpose`, the campaign's purpose: resuming its
    script needs that purpose's consent too.
    """
    pack = pack_for(contact.region)
    facts = gather_facts(session, contact, purpose=purpose, offer_id=offer_id, at=at,
                         automated=automated, pack=pack, settings=settings)
    if pack is not None:  # a region's law narrowing the country's (what decide() applies too)
        pack = pack.for_call(contact.e164, purpose, automated)
    if purpose == "callback":
        facts = replace(facts, resumes_purpose=resumes_purpose)
    decision = decide(facts, pack, at)
    row = ComplianceDecision(
        at=at, contact_id=contact.id, e164=contact.e164, country=contact.region, purpose=purpose,
        offer_id=offer_id, campaign_id=None if campaign_id is None else str(campaign_id),
        callback_id=None if callback_id is None else str(callback_id), automated=automated,
        allowed=decision.allowed, rule_id=decision.rule_id, reason=decision.reason,
        next_allowed_at=decision.next_allowed_at,
        pack_version=pack.full_version if pack else None, inputs=facts.to_json(),
    )
    session.add(row)
    session.flush()
    return replace(decision, decision_id=row.id)


def next_allowed_slots(
    session: Session,
    contact: Contact,
    *,
    purpose: str,
    offer_id: str | None,
    after: datetime,
    count: int = 3,
    spacing: timedelta = timedelta(hours=1),
    settings: Settings | None = None,
) -> list[datetime]:
    """Up to `count` lawful moments at or after `after` (UTC, on quarter hours, `spacing` apart).

    Empty when the contact may not be called at all (opt-out, registry, no pack...) or nothing
    lawful falls within the look-ahead horizon.
    """
    pack = pack_for(contact.region)
    facts = gather_facts(session, contact, purpose=purpose, offer_id=offer_id, at=after,
                         pack=pack, settings=settings)
    slots: list[datetime] = []
    moment = _round_up(after)
    for _ in range(count * 50):  # bounded: each step moves forward
        if len(slots) >= count:
            break
        decision = decide(facts, pack, moment)
        if decision.allowed:
            slots.append(moment)
            moment = _round_up(moment + spacing)
        elif decision.next_allowed_at is not None and decision.next_allowed_at > moment:
            moment = _round_up(decision.next_allowed_at)
        else:
            break
    return slots


def _round_up(moment: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    steps = -(-(moment - epoch) // SLOT_ROUNDING)
    return epoch + steps * SLOT_ROUNDING
