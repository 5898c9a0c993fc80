"""Adversarial contact stories against the consent check: tests/corpus/compliance/*.yaml.

    .venv/bin/python bench/compliance_corpus.py [--part tune|held|all] [--list] [--corpus DIR]

Each story says, from the law (the article it cites) or COMPLIANCE.md, whether one call is
lawful; it was written before looking at how the code decides. A story builds its facts in a
fresh database through the services the app uses (contacts, consent ledger, registry import,
opt-outs, call history), creates the campaign through the campaign service, and asks
`check_call` exactly as the dialer does (purpose and offer from the campaign, `automated` from
the campaign's call kind); a `callback` story asks as the callback dispatcher does.

Counted apart: unlawful calls allowed (must be zero; a story may name a `known_gap` still
open, which is printed) and lawful calls refused. A lawful call we
refuse on purpose (a policy stricter than the law) names the refusing rule in `deliberate`;
any other lawful refusal is a defect. A third of the stories (`held: true`) is kept aside and
never tuned on: figures are printed for both parts.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Run as a script, the repository root is not on the path: the stories import tests.conftest.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app, phone
from app.campaigns import service as campaigns
from app.campaigns.callkind import callback_call_kind, campaign_call_kind
from app.clock import FakeClock
from app.consent import check_call, registries
from app.consent.attempts import record_attempt
from app.consent.contacts import get_or_create
from app.consent.gdpr import erase_contact
from app.consent.ledger import add_owned_product, record_consent
from app.consent.optouts import lift_opt_out, record_opt_out
from app.db import Base, get_engine, session_scope
from app.flows.model import Flow, Node
from app.yamlfile import load_yaml
from tests.conftest import base_settings

ROOT = Path(__file__).resolve().parent.parent

CORPUS = ROOT / "tests" / "corpus" / "compliance"
LIVE_FLOW = "corpus_live_agents"
# Every key a story may have (a stray key is usually a YAML comma that cut a sentence).
KEYS = frozenset({"id", "rule", "source", "number", "at", "zone", "purpose", "offer", "reason", "call", "contact",
                  "consents", "owned", "registry", "opted_out", "opt_out_lifted", "erased", "attempts", "lawful", "deliberate", "known_gap",
                  "held", "resumes", "file"})
_RELATIVE = re.compile(r"^([+-])(\d+)([dh])$")


@dataclass
class Outcome:
    story: dict[str, Any]
    allowed: bool
    rule_id: str
    reason: str

    @property
    def lawful(self) -> bool:
        return bool(self.story["lawful"])

    @property
    def deliberate(self) -> str | None:
        return (self.story.get("deliberate") or {}).get("rule")


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def unlawful_allowed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.lawful and o.allowed]

    @property
    def unlawful_allowed_unknown(self) -> list[Outcome]:
        """Unlawful calls allowed that no story declares as a known gap: must be none."""
        return [o for o in self.unlawful_allowed if not o.story.get("known_gap")]

    @property
    def lawful_refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.lawful and not o.allowed]

    @property
    def undeclared_refusals(self) -> list[Outcome]:
        """Lawful calls refused by a rule the story does not name as a deliberate policy."""
        return [o for o in self.lawful_refused if o.deliberate != o.rule_id]


def load(part: str = "all", corpus: Path = CORPUS) -> list[dict[str, Any]]:
    stories: list[dict[str, Any]] = []
    for path in sorted(corpus.glob("*.yaml")):
        data = load_yaml(path.read_text(encoding="utf-8"))
        defaults = data.get("defaults") or {}
        for story in data["stories"]:
            merged = {**defaults, **story, "file": path.name}
            if part == "all" or (part == "held") == bool(merged.get("held")):
                stories.append(merged)
    return stories


def _moment(value: Any, now: datetime) -> datetime:
    """"-10d", "+2h" relative to the call; or a local/ISO date-time."""
    text = str(value)
    found = _RELATIVE.match(text)
    if found:
        sign, amount, unit = found.groups()
        delta = timedelta(days=int(amount)) if unit == "d" else timedelta(hours=int(amount))
        return now + delta if sign == "+" else now - delta
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _settings(tmp: str) -> dict[str, Any]:
    return base_settings(Path(tmp))


def _live_flow(app: Any) -> None:
    """A campaign staffed by agents: the callee goes straight to a person (no synthetic voice)."""
    agent = Node(name="agent", kind="transfer", transfer={"dial": "+390212345678"})
    flow = Flow(name=LIVE_FLOW, kind="outbound", start="agent", nodes={"agent": agent}, file="corpus",
                placed_by="campaign")
    app.extensions["cortese.flows"].flows.flows[LIVE_FLOW] = flow


def run_stories(stories: list[dict[str, Any]]) -> list[Outcome]:
    """Each story on an empty database (one app; every table emptied between stories)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(_settings(tmp), clock=FakeClock())
        engine = get_engine(app)
        Base.metadata.create_all(engine)
        outcomes = []
        try:
            for story in stories:
                with engine.begin() as connection:
                    for table in reversed(Base.metadata.sorted_tables):
                        connection.execute(table.delete())
                with app.app_context():
                    outcomes.append(_decide(app, story))
        finally:
            engine.dispose()
        return outcomes


def _decide(app: Any, story: dict[str, Any]) -> Outcome:
    parsed = phone.parse(str(story["number"]))
    zone = story.get("zone") or parsed.time_zones[0]
    local = datetime.fromisoformat(str(story["at"])).replace(tzinfo=ZoneInfo(zone))
    now = local.astimezone(UTC)
    settings = app.extensions["cortese.settings"]
    with session_scope(app) as session:
        contact = get_or_create(session, parsed.e164, source="corpus story", at=now - timedelta(days=400),
                                **_contact_fields(story.get("contact") or {}, now))
        if story["purpose"] == "callback":
            _history(session, contact, story, now, story.get("offer"))
            booked_from = None
            if story.get("resumes"):  # booked during a campaign call whose script it goes on with
                booked_from = campaigns.create_campaign(
                    session, name=f"corpus {story['id']}", purpose=story["resumes"], offer_id=story.get("offer"),
                    flow="campaign_service", languages=["en"], reason={"en": "our offer"}, created_by="corpus",
                    at=now - timedelta(days=1))
            # Exactly the callback dispatcher's call (app/callbacks/dispatch.py): the campaign a
            # callback was booked from is named by id, and its purpose is what the call resumes.
            decision = check_call(session, contact, purpose="callback", offer_id=story.get("offer"), at=now,
                                  campaign_id=None if booked_from is None else booked_from.id, callback_id=1,
                                  settings=settings, automated=callback_call_kind(app).automated,
                                  resumes_purpose=None if booked_from is None else booked_from.purpose)
        else:
            live = story.get("call", "automated") == "live"
            if live:
                _live_flow(app)
            campaign = campaigns.create_campaign(
                session, name=f"corpus {story['id']}", purpose=story["purpose"], offer_id=story.get("offer"),
                flow=LIVE_FLOW if live else "campaign_service", languages=["en"],
                reason={"en": story.get("reason") or f"a {story['purpose']} call"}, created_by="corpus",
                at=now - timedelta(days=1), machine_policy="hangup" if live else "message")
            _history(session, contact, story, now, campaign.offer_id)
            # Exactly the dialer's call (app/campaigns/dialer.py).
            decision = check_call(session, contact, purpose=campaign.purpose, offer_id=campaign.offer_id, at=now,
                                  campaign_id=campaign.id, settings=settings,
                                  automated=campaign_call_kind(app, campaign).automated)
    return Outcome(story, decision.allowed, decision.rule_id, decision.reason)


def _contact_fields(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in ("is_business", "legal_person", "is_customer", "time_zone"):
        if key in data:
            fields[key] = data[key]
    for key, attr in (("customer_until", "customer_until"), ("last_purchase", "last_purchase_at"),
                      ("last_inquiry", "last_inquiry_at")):
        if key in data:
            fields[attr] = _moment(data[key], now)
    return fields


def _history(session: Any, contact: Any, story: dict[str, Any], now: datetime, campaign_offer: str | None) -> None:
    """The story's past: consents, products, registry copy, opt-out, earlier calls ("@campaign":
    the offer the campaign belongs to, as another campaign of the same offer would record it)."""
    for item in story.get("consents") or ():
        record_consent(session, contact, action=item.get("action", "given"), purpose=item.get("purpose", "any"),
                       channel=item.get("channel", "voice"), written=bool(item.get("written", False)),
                       at=_moment(item.get("at", "-30d"), now), source="corpus", recorded_by="corpus",
                       offer_ids=item.get("offers") or (),
                       valid_until=_moment(item["valid_until"], now) if item.get("valid_until") else None)
    for offer in story.get("owned") or ():
        add_owned_product(session, contact, offer, source="corpus")
    registry = story.get("registry")
    if registry:
        obtained = _moment(registry.get("obtained", "-2d"), now)
        # `written`: the callee's line as the registry publishes it; `header`: the file's first line.
        lines = [registry["header"]] if registry.get("header") else []
        if registry.get("listed"):
            lines.append(registry.get("written", contact.e164))
        lines.append(registry.get("other", _other_number(contact.region)))
        registries.import_registry(session, contact.region, io.BytesIO("\n".join(lines).encode()),
                                   at=obtained, obtained_at=obtained, file_name="corpus.txt")
        later = registry.get("later")
        if later:  # a newer upload: refused (empty, garbage, future date) unless `accepted`
            _upload_later(session, contact.region, later, now)
    if story.get("opted_out"):
        record_opt_out(session, contact.e164, at=_moment(story["opted_out"], now), source="api", by="corpus")
    if story.get("opt_out_lifted"):  # at the person's own request, as an operator records it
        lift_opt_out(session, contact.e164, at=_moment(story["opt_out_lifted"], now), by="corpus",
                     proof="the person asked to be called again")
    if story.get("erased"):
        erase_contact(session, contact.e164, at=_moment(story["erased"], now), by="corpus")
    for item in story.get("attempts") or ():
        record_attempt(session, contact.e164, at=_moment(item["at"], now), purpose=item.get("purpose", "sales"),
                       offer_id=campaign_offer if item.get("offer") == "@campaign" else item.get("offer"),
                       outcome=item.get("outcome", "completed"))


def _upload_later(session: Any, region: str | None, later: dict[str, Any], now: datetime) -> None:
    """Import `later` as an operator would and insist that it was refused, or, when the story
    says `accepted: true` (a good newer copy), that it was taken."""
    at = _moment(later.get("at", "-1d"), now)
    obtained = _moment(later.get("obtained", "-1d"), now)
    data = "\n".join(str(line) for line in later.get("lines") or ()).encode()
    try:
        report = registries.import_registry(session, str(region), io.BytesIO(data), at=at,
                                            obtained_at=obtained, file_name="corpus-later.txt")
    except registries.RegistryError:
        report = None
    wanted = "complete" if later.get("accepted") else "refused"
    if (report.status if report is not None else "refused") != wanted:
        raise AssertionError(f"the later upload {later} was not {wanted}: {report}")


def _other_number(region: str | None) -> str:
    """A listed number that is not the story's (a registry copy is never empty)."""
    return {"US": "+12025550199", "CA": "+14165550199", "GB": "+442079460999", "IT": "+390612345699",
            "NL": "+31201234599"}.get(region or "", "+12025550199")


def run(part: str = "all", corpus: Path = CORPUS) -> Tally:
    return Tally(run_stories(load(part, corpus)))


def _report(name: str, tally: Tally, *, listing: bool) -> None:
    total = len(tally.outcomes)
    lawful = sum(o.lawful for o in tally.outcomes)
    print(f"{name}: {total} stories ({lawful} lawful, {total - lawful} unlawful)")
    print(f"  unlawful calls allowed: {len(tally.unlawful_allowed)}")
    print(f"  lawful calls refused:   {len(tally.lawful_refused)} "
          f"({len(tally.lawful_refused) - len(tally.undeclared_refusals)} deliberate, "
          f"{len(tally.undeclared_refusals)} not declared)")
    for o in tally.unlawful_allowed:
        gap = f" [known gap: {o.story['known_gap']}]" if o.story.get("known_gap") else ""
        print(f"    ALLOWED UNLAWFUL {o.story['id']}: {o.story['rule']} ({o.story['source']}){gap}")
    for o in tally.lawful_refused:
        tag = "deliberate" if o.deliberate == o.rule_id else "UNDECLARED"
        why = (o.story.get("deliberate") or {}).get("why", o.reason)
        if listing or tag == "UNDECLARED":
            print(f"    {tag} {o.story['id']} refused by {o.rule_id}: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("tune", "held", "all"), default="all")
    parser.add_argument("--list", action="store_true", help="list every lawful refusal with its rule")
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help="a directory of stories of the same shape kept outside the project")
    args = parser.parse_args()
    if not any(args.corpus.glob("*.yaml")):
        parser.error(f"no *.yaml stories in {args.corpus}")
    parts = ("tune", "held") if args.part == "all" else (args.part,)
    for part in parts:
        _report(part, run(part, args.corpus), listing=args.list)


if __name__ == "__main__":
    main()
