"""check_call, opt-outs, registries, attempts, slots and GDPR against a real database."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app import create_app, signals
from app.config import ConfigError, load_settings
from app.consent import (
    check_call,
    finish_attempt,
    gdpr,
    get_or_create,
    has_product,
    next_allowed_slots,
    record_attempt,
    record_consent,
    registries,
)
from app.consent.actions import record_opt_out_action
from app.consent.ledger import LedgerError, add_owned_product, record_relationship
from app.consent.models import (
    ComplianceDecision,
    ConsentRecord,
    ContactAttempt,
    RegistryEntry,
    RegistryImport,
)
from app.consent.optouts import record_opt_out
from app.db import Base, get_engine, session_scope
from app.models import Call
from app.support.models import CustomerProduct, Product

NY = ZoneInfo("America/New_York")
# Wednesday 4 March 2026, 12:00 in New York.
AT = datetime(2026, 3, 4, 12, 0, tzinfo=NY).astimezone(UTC)
US_NUMBER = "+12125550123"


def _registry(session, country: str, text: str, at: datetime = AT, **kw):
    return registries.import_registry(session, country, io.BytesIO(text.encode()), at=at, file_name="r.txt", **kw)


def _contact(session, number: str = US_NUMBER, **fields):
    return get_or_create(session, number, source="crm", at=AT - timedelta(days=100), **fields)


# --- check_call stores every decision ------------------------------------------------------


def test_check_call_stores_decision_with_pack_version_and_inputs(app):
    with app.app_context(), session_scope(app) as session:
        _registry(session, "US", "2125550199\n")
        contact = _contact(session)
        decision = check_call(session, contact, purpose="sales", offer_id="fiber", at=AT, campaign_id=7)
        assert decision.allowed and decision.decision_id is not None
        row = session.get(ComplianceDecision, decision.decision_id)
        assert row.pack_version.startswith("US-") and "courtesy" in row.pack_version
        assert row.campaign_id == "7" and row.rule_id == "allowed"
        assert row.inputs["registry_listed"] is False and row.inputs["time_zones"] == ["America/New_York"]
        late = check_call(session, contact, purpose="sales", offer_id="fiber", at=AT + timedelta(hours=9, minutes=30))
        assert not late.allowed and late.rule_id == "window"
        assert session.scalar(select(func.count()).select_from(ComplianceDecision)) == 2


def test_registry_hit_and_exemption_through_check_call(app):
    with app.app_context(), session_scope(app) as session:
        _registry(session, "US", "212,5550123\n")  # FTC "area code,number" format
        contact = _contact(session)
        refused = check_call(session, contact, purpose="sales", offer_id="fiber", at=AT)
        assert (refused.allowed, refused.rule_id) == (False, "registry.listed")
        assert check_call(session, contact, purpose="survey", offer_id=None, at=AT).allowed
        record_relationship(contact, at=AT, inquiry_at=AT - timedelta(days=30))
        assert check_call(session, contact, purpose="sales", offer_id="fiber", at=AT).allowed


def test_stale_registry_blocks_until_refreshed(app):
    with app.app_context(), session_scope(app) as session:
        contact = _contact(session)
        assert check_call(session, contact, purpose="sales", offer_id="x", at=AT).rule_id == "registry.missing"
        _registry(session, "US", "2125550100\n", at=AT - timedelta(days=40))
        stale = check_call(session, contact, purpose="sales", offer_id="x", at=AT)
        assert (stale.allowed, stale.rule_id) == (False, "registry.stale")
        assert "40 days old" in stale.reason
        _registry(session, "US", "2125550100\n", at=AT - timedelta(days=1))
        assert check_call(session, contact, purpose="sales", offer_id="x", at=AT).allowed


def test_unknown_country_is_refused(app):
    with app.app_context(), session_scope(app) as session:
        contact = _contact(session, "+33142685300")
        decision = check_call(session, contact, purpose="service", offer_id=None, at=AT)
        assert (decision.allowed, decision.rule_id) == (False, "pack.missing")


# --- opt-outs ------------------------------------------------------------------------------


@pytest.fixture
def booked_callbacks():
    """Stands in for the callbacks package: two bookings cancelled by the opt-out signal."""
    bookings = {1: {"e164": US_NUMBER, "status": "booked"}, 2: {"e164": US_NUMBER, "status": "booked"},
                3: {"e164": "+12125550111", "status": "booked"}}

    def cancel(_sender, *, session, e164, contact_id, at, source):
        for booking in bookings.values():
            if booking["e164"] == e164 and booking["status"] == "booked":
                booking["status"] = "cancelled"

    signals.opt_out_recorded.connect(cancel)
    yield bookings
    signals.opt_out_recorded.disconnect(cancel)


def test_opt_out_said_during_a_call_cancels_two_booked_callbacks(app, booked_callbacks):
    with app.app_context(), session_scope(app) as session:
        contact = _contact(session)
        record_consent(session, contact, action="given", purpose="sales", at=AT - timedelta(days=5),
                       source="web form 12", recorded_by="import", written=True)
        call = Call(call_sid="CA" + "1" * 32, direction="outbound-api", from_number="+390212345678",
                    to_number=US_NUMBER, status="in-progress", started_at=AT, updated_at=AT, slots={}, counters={})
        session.add(call)
        session.flush()
        ctx = SimpleNamespace(session=session, call=call, slots={}, params={"SpeechResult": "non chiamatemi più"},
                              now=AT, language="it")
        assert record_opt_out_action(ctx) == "ok"
        assert ctx.slots["opt_out_recorded"] is True
        assert [b["status"] for b in booked_callbacks.values()] == ["cancelled", "cancelled", "booked"]
        decision = check_call(session, contact, purpose="callback", offer_id=None, at=AT + timedelta(minutes=1))
        assert (decision.allowed, decision.rule_id, decision.next_allowed_at) == (False, "optout.internal_dnc", None)
        ledger = session.scalars(select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
                                 .order_by(ConsentRecord.id)).all()
        assert [(r.action, r.source) for r in ledger] == [("given", "web form 12"), ("withdrawn", "opt-out:voice")]


def test_opt_out_of_a_withheld_caller_still_says_ok(app):
    with app.app_context(), session_scope(app) as session:
        call = Call(call_sid="CA" + "2" * 32, direction="inbound", from_number="anonymous",
                    to_number="+390212345678", status="in-progress", started_at=AT, updated_at=AT, slots={}, counters={})
        ctx = SimpleNamespace(session=session, call=call, slots={}, params={"Digits": "9"}, now=AT)
        assert record_opt_out_action(ctx) == "ok" and ctx.slots["opt_out_recorded"] is False


def test_opt_out_by_api_for_an_unknown_number_and_bad_input(app):
    with app.app_context(), session_scope(app) as session:
        optout = record_opt_out(session, "+1 (212) 555-0177", at=AT, source="api", by="admin")
        assert optout.e164 == "+12125550177" and optout.contact_id is None
        contact = _contact(session, "+12125550177")
        assert check_call(session, contact, purpose="service", offer_id=None, at=AT).rule_id == "optout.internal_dnc"
        with pytest.raises(ValueError, match="source"):
            record_opt_out(session, US_NUMBER, at=AT, source="telepathy", by="x")
        with pytest.raises(ValueError):
            record_opt_out(session, "not a number", at=AT, source="api", by="x")


def test_ledger_is_append_only(app):
    with app.app_context(), session_scope(app) as session:
        contact = _contact(session)
        record = record_consent(session, contact, action="given", purpose="sales", at=AT, source="form", recorded_by="x")
        record.purpose = "survey"
        with pytest.raises(LedgerError, match="append-only"):
            session.flush()
        session.rollback()
    with app.app_context(), session_scope(app) as session:
        contact = _contact(session)
        with pytest.raises(LedgerError, match="purpose"):
            record_consent(session, contact, action="given", purpose="spam", at=AT, source="form", recorded_by="x")


# --- attempts and courtesy through the database --------------------------------------------


def test_same_offer_cooldown_and_owned_products_through_check_call(app):
    with app.app_context(), session_scope(app) as session:
        _registry(session, "US", "2125559999\n", at=AT + timedelta(days=29))  # not the contact
        contact = _contact(session)
        attempt = record_attempt(session, US_NUMBER, at=AT, purpose="sales", campaign_id=1, offer_id="fiber",
                                 call_sid="CA" + "3" * 32)
        finish_attempt(session, "CA" + "3" * 32, outcome="declined", at=AT + timedelta(minutes=3))
        assert attempt.outcome == "declined"
        day29 = check_call(session, contact, purpose="sales", offer_id="fiber", at=AT + timedelta(days=29))
        assert day29.rule_id == "courtesy.same_offer" and day29.next_allowed_at == AT + timedelta(days=30)
        assert check_call(session, contact, purpose="sales", offer_id="fiber", at=AT + timedelta(days=31)).allowed
        add_owned_product(session, contact, "tv", source="orders")
        assert has_product(session, contact, "tv")
        owned = check_call(session, contact, purpose="sales", offer_id="tv", at=AT + timedelta(days=31))
        assert owned.rule_id == "courtesy.owned_product"


def test_status_callback_finishes_an_attempt_as_machine(app):
    with app.app_context(), session_scope(app) as session:
        record_attempt(session, US_NUMBER, at=AT, purpose="survey", call_sid="CA" + "4" * 32)
        call = Call(call_sid="CA" + "4" * 32, direction="outbound-api", from_number="+390212345678",
                    to_number=US_NUMBER, status="completed", answered_by="machine_start", started_at=AT,
                    updated_at=AT + timedelta(seconds=30), ended_at=AT + timedelta(seconds=30), slots={}, counters={})
        session.add(call)
        signals.call_status_changed.send(None, session=session, call=call, params={})
        attempt = session.scalars(select(ContactAttempt)).one()
        assert attempt.outcome == "machine"
        contact = _contact(session)
        refused = check_call(session, contact, purpose="survey", offer_id=None, at=AT + timedelta(hours=71))
        assert refused.rule_id == "courtesy.abandoned"


def test_next_allowed_slots_are_lawful_quarter_hours(app):
    with app.app_context(), session_scope(app) as session:
        contact = _contact(session)
        evening = datetime(2026, 3, 4, 20, 23, tzinfo=NY).astimezone(UTC)
        slots = next_allowed_slots(session, contact, purpose="callback", offer_id=None, after=evening, count=3)
        local = [s.astimezone(NY).strftime("%a %H:%M") for s in slots]
        assert local == ["Wed 20:30", "Thu 08:00", "Thu 09:00"]
        for slot in slots:
            assert check_call(session, contact, purpose="callback", offer_id=None, at=slot).allowed
        record_opt_out(session, US_NUMBER, at=evening, source="operator", by="ops")
        assert next_allowed_slots(session, contact, purpose="callback", offer_id=None, after=evening) == []


# --- registries ----------------------------------------------------------------------------


def test_registry_import_formats_errors_duplicates_and_supersede(app):
    with app.app_context(), session_scope(app) as session:
        text = "number,added\n# comment\n02 1234 5678,2024-01-01\n+39 347 123 4567,x\n3471234567,x\nabc,x\n12,x\n"
        # 2 bad lines in 5: refused at the default threshold, accepted when the operator allows it.
        report = _registry(session, "IT", text, max_refused_percent=50)
        assert (report.numbers, report.duplicates, report.rejected) == (2, 1, 2)
        assert [line for line, _ in report.errors] == [6, 7]
        listed = registries.screen(session, "IT", ["+390212345678", "+393471234567", "+393471111111"])
        assert listed == {"+390212345678", "+393471234567"}
        second = _registry(session, "IT", "+393471111111\n", at=AT + timedelta(days=1))
        assert registries.screen(session, "IT", ["+390212345678", "+393471111111"]) == {"+393471111111"}
        statuses = dict(session.execute(select(RegistryImport.id, RegistryImport.status)).all())
        assert statuses == {report.import_id: "superseded", second.import_id: "complete"}
        assert session.scalar(select(func.count()).select_from(RegistryEntry)) == 1


@pytest.mark.parametrize(
    ("country", "line", "e164"),
    [("US", "2125550123", "+12125550123"), ("US", "1-212-555-0123", "+12125550123"),
     ("CA", "416,5550123", "+14165550123"), ("GB", "020 7123 4567", "+442071234567"),
     ("GB", "+44 20 7123 4567", "+442071234567"), ("IT", "0039 02 12345678", "+390212345678")],
)
def test_registry_number_formats(app, country, line, e164):
    with app.app_context(), session_scope(app) as session:
        _registry(session, country, line + "\n")
        assert registries.screen(session, country, [e164]) == {e164}


def test_registry_refuses_unknown_country_and_headerless_csv(app):
    with app.app_context(), session_scope(app) as session:
        with pytest.raises(registries.RegistryError, match="NL"):
            _registry(session, "NL", "0612345678\n")
        with pytest.raises(registries.RegistryError, match="header"):
            _registry(session, "US", "name,when\n2125550123,x\n")
        with pytest.raises(registries.RegistryError, match="no US registry"):
            registries.screen(session, "US", [US_NUMBER])


# --- GDPR ----------------------------------------------------------------------------------


def test_erasure_keeps_the_number_suppressed_and_export_shows_everything(app):
    with app.app_context(), session_scope(app) as session:
        contact = _contact(session, name="Ann Smith")
        record_consent(session, contact, action="given", purpose="survey", at=AT, source="form 9", recorded_by="x")
        decision = check_call(session, contact, purpose="survey", offer_id=None, at=AT)
        record_attempt(session, US_NUMBER, at=AT, purpose="survey", decision_id=decision.decision_id)
        data = gdpr.export_contact(session, US_NUMBER)
        assert data["contact"]["name"] == "Ann Smith" and len(data["consent"]) == 1
        assert len(data["decisions"]) == 1 and len(data["attempts"]) == 1
        report = gdpr.erase_contact(session, US_NUMBER, at=AT, by="dpo")
        assert (report.consent_records, report.attempts_masked, report.decisions_masked) == (1, 1, 1)
        assert contact.name is None and contact.e164.startswith("erased:") and contact.erased_at == AT
        assert gdpr.is_suppressed(session, US_NUMBER)
        assert gdpr.export_contact(session, US_NUMBER)["contact"] is None
        # Re-created later (a new import, an inbound call): still never called.
        again = _contact(session)
        assert again.id != contact.id
        refused = check_call(session, again, purpose="survey", offer_id=None, at=AT + timedelta(days=1))
        assert (refused.allowed, refused.rule_id) == (False, "suppression")
        stored = session.scalars(select(ComplianceDecision).where(ComplianceDecision.id == decision.decision_id)).one()
        assert stored.e164 != US_NUMBER and stored.inputs == {"erased": True}


def test_suppression_hash_is_keyed(app):
    with app.app_context():
        settings = app.extensions["cortese.settings"]
        key = gdpr.suppression_key(settings)
        other = gdpr.suppression_key(settings.model_copy(update={"suppression_hash_key": "k" * 40}))
        assert gdpr.number_hash(US_NUMBER, key) != gdpr.number_hash(US_NUMBER, other)

        assert gdpr.number_hash(US_NUMBER, key) != hashlib.sha256(US_NUMBER.encode()).hexdigest()


def test_production_requires_a_suppression_key(settings):
    with pytest.raises(ConfigError, match="SUPPRESSION_HASH_KEY"):
        load_settings({**settings, "CORTESE_ENV": "production"}, env_file=None)
    ok = load_settings({**settings, "CORTESE_ENV": "production", "SUPPRESSION_HASH_KEY": "s" * 32}, env_file=None)
    assert ok.suppression_hash_key == "s" * 32


@pytest.mark.postgres
def test_registry_import_and_check_call_on_postgres(pg_url, settings, clock):
    """ON CONFLICT DO NOTHING, BigInteger keys and the decision JSON on PostgreSQL."""
    application = create_app({**settings, "DATABASE_URL": pg_url}, clock=clock)
    Base.metadata.create_all(get_engine(application))
    try:
        with application.app_context(), session_scope(application) as session:
            report = _registry(session, "US", "2125550123\n2125550123\n+1 999 555 0000\n", max_refused_percent=50)
            # 999 is not an assigned area code: refused, not stored.
            assert (report.numbers, report.duplicates, report.rejected) == (1, 1, 1)
            contact = _contact(session)
            decision = check_call(session, contact, purpose="sales", offer_id="fiber", at=AT)
            assert (decision.allowed, decision.rule_id) == (False, "registry.listed")
            assert registries.screen(session, "US", [US_NUMBER, "+12125550100"]) == {US_NUMBER}
    finally:
        get_engine(application).dispose()


def test_a_product_registered_with_support_counts_as_owned(app):
    with app.app_context(), session_scope(app) as session:
        _registry(session, "US", "2125559999\n", at=AT)  # not the contact
        contact = _contact(session)
        router = Product(sku="ROUTER-X", name="Router X", names={}, warranty_months=24)
        session.add(router)
        session.flush()
        session.add(CustomerProduct(serial="SN-1", product_id=router.id, owner_number=US_NUMBER))
        session.add(CustomerProduct(serial="SN-2", product_id=router.id, owner_number="+393471234567"))
        session.flush()
        assert has_product(session, contact, "ROUTER-X") and not has_product(session, contact, "TV-1")
        pitch = check_call(session, contact, purpose="sales", offer_id="ROUTER-X", at=AT)
        assert pitch.rule_id == "courtesy.owned_product" and not pitch.allowed
        assert check_call(session, contact, purpose="sales", offer_id="TV-1", at=AT).allowed


def test_a_panhandle_number_is_called_only_when_pensacola_is_open_too(app):
    # 850 spans Tallahassee (Eastern) and Pensacola (Central); 47 CFR 64.1200(c)(1): from 08:00
    # at the called person's location. libphonenumber gives 850 Eastern time only.
    eastern = ZoneInfo("America/New_York")
    with app.app_context(), session_scope(app) as session:
        _registry(session, "US", "2125550199\n", at=AT - timedelta(days=1))
        contact = _contact(session, "+18505550143")
        early = check_call(session, contact, purpose="sales", offer_id="fiber",
                           at=datetime(2026, 3, 4, 8, 30, tzinfo=eastern))
        assert (early.allowed, early.rule_id) == (False, "window")
        assert early.next_allowed_at == datetime(2026, 3, 4, 9, 0, tzinfo=eastern)
        assert check_call(session, contact, purpose="sales", offer_id="fiber",
                          at=datetime(2026, 3, 4, 9, 0, tzinfo=eastern)).allowed
