"""The company's data lives in the flows directory (FLOWS_DIR) beside the flows: the offer
catalogue (offers.yaml: which offers are alike, for the Dutch customer exception of
Telecommunicatiewet art. 11.7) and the warranty terms (warranty.yaml). A deployment with its own
FLOWS_DIR decides with its own files; a file it cannot use stops the app before it listens."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import create_app
from app.consent import check_call, offers
from app.consent import cli as consent_cli
from app.consent.ledger import add_owned_product
from app.consent.models import Contact
from app.datafiles import DataFileError
from app.db import Base, get_engine, session_scope
from app.flows.cli import cli as flows_cli
from app.startup import StartupError, check_flows
from app.support import warranty
from tests.conftest import REPO_FLOWS, base_settings

# Wednesday 4 March 2026, 11:00 in Amsterdam: a working day, within Dutch calling hours.
NL_MORNING = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _own_flows(tmp_path: Path) -> Path:
    directory = tmp_path / "own-flows"
    shutil.copytree(REPO_FLOWS, directory)
    return directory


def _edit(path: Path, old: str, new: str) -> None:
    body = path.read_text(encoding="utf-8")
    assert old in body
    path.write_text(body.replace(old, new), encoding="utf-8")


def _app(tmp_path: Path, flows: Path | None = None):
    settings = base_settings(tmp_path)
    if flows is not None:
        settings["FLOWS_DIR"] = str(flows)
    app = create_app(settings)
    Base.metadata.create_all(get_engine(app))
    return app


def _customer_pitched_tv(app) -> tuple[bool, str]:
    """A current Dutch customer who has fibre, without an opt-in, asked about a TV offer."""
    with app.app_context(), session_scope(app) as session:
        contact = Contact(e164="+31612345678", region="NL", line_type="mobile", time_zone="Europe/Amsterdam",
                          time_zones=["Europe/Amsterdam"], source="crm", is_customer=True,
                          created_at=NL_MORNING, updated_at=NL_MORNING)
        session.add(contact)
        session.flush()
        add_owned_product(session, contact, "fibra-1g", source="crm")
        decision = check_call(session, contact, purpose="sales", offer_id="tv-sport", at=NL_MORNING)
        return decision.allowed, decision.rule_id


def test_the_customer_exception_follows_the_offer_catalogue_of_the_app_s_flows_directory(tmp_path):
    # The repository's catalogue: TV is not broadband, so the customer exception does not
    # cover it and a Dutch customer needs an opt-in for it.
    assert _customer_pitched_tv(_app(tmp_path / "a")) == (False, "optin.required")
    # A company that sells TV as part of its broadband bundles says so in its own catalogue.
    flows = _own_flows(tmp_path)
    _edit(flows / "offers.yaml", 'television: ["tv-*", "tv"]', 'television: ["tv"]\n  bundle: []')
    _edit(flows / "offers.yaml", '"glasvezel-*"]', '"glasvezel-*", "tv-*"]')
    own = _app(tmp_path / "b", flows)
    with own.app_context():
        assert offers.category("tv-sport") == "broadband"
    assert offers.category("tv-sport") == "television"  # outside an app: the repository's
    assert _customer_pitched_tv(own)[0] is True


def test_a_warranty_claim_is_decided_by_the_terms_of_the_app_s_flows_directory(tmp_path):
    flows = _own_flows(tmp_path)
    _edit(flows / "warranty.yaml", "  tv: 36", "  tv: 60")
    bought, today = date(2022, 1, 10), date(2026, 3, 4)  # 50 months ago
    for app, covered in ((_app(tmp_path / "a"), False), (_app(tmp_path / "b", flows), True)):
        with app.app_context():
            decision = warranty.decide(purchased_on=bought, today=today, country="IT", category="tv")
        assert decision.covered is covered


def test_a_flows_directory_without_warranty_terms_does_not_start(tmp_path):
    flows = _own_flows(tmp_path)
    (flows / "warranty.yaml").unlink()
    expected = f"{flows / 'warranty.yaml'}: missing (the warranty terms a warranty claim is decided by"
    with pytest.raises(DataFileError, match="missing") as failed:
        _app(tmp_path, flows)
    assert str(failed.value).startswith(expected)
    settings = _app(tmp_path / "ok").extensions["cortese.settings"].model_copy(update={"flows_dir": flows})
    with pytest.raises(StartupError) as stopped:
        check_flows(settings)
    assert str(stopped.value).startswith(f"FLOWS_DIR {flows}: {expected}")


@pytest.mark.parametrize(("name", "old", "new", "said"), [
    ("offers.yaml", 'television: ["tv-*", "tv"]', "television: tv-*", "categories.television: expected a list"),
    ("warranty.yaml", "  tv: 36", "  tv: thirty-six", "warranty terms: categories.tv must be a whole number"),
    ("warranty.yaml", "default_country: IT", "default_country: [IT", "not valid YAML"),
])
def test_a_broken_data_file_is_named_by_start_up_and_lint(tmp_path, name, old, new, said):
    flows = _own_flows(tmp_path)
    _edit(flows / name, old, new)
    with pytest.raises(DataFileError, match=said):
        _app(tmp_path, flows)
    result = CliRunner().invoke(flows_cli, ["lint", "--dir", str(flows)])
    assert result.exit_code == 1
    assert f"{flows / name}: " in result.output and said in result.output
    assert CliRunner().invoke(flows_cli, ["lint"]).exit_code == 0  # the repository's are untouched


def test_compliance_packs_names_a_broken_catalogue_of_flows_dir(tmp_path, monkeypatch):
    flows = _own_flows(tmp_path)
    _edit(flows / "offers.yaml", 'television: ["tv-*", "tv"]', "television: tv-*")
    monkeypatch.setenv("FLOWS_DIR", str(flows))
    result = CliRunner().invoke(consent_cli.cli, ["packs"])
    assert result.exit_code == 1
    assert f"{flows / 'offers.yaml'}: categories.television: expected a list" in result.output


def test_a_flows_directory_without_an_offer_catalogue_has_no_similar_offers(tmp_path):
    """No catalogue: no offer is like another, so the customer exception never applies (the
    stricter reading: an opt-in is asked for)."""
    flows = _own_flows(tmp_path)
    (flows / "offers.yaml").unlink()
    app = _app(tmp_path, flows)
    with app.app_context():
        assert offers.category("fibra-1g") is None
    assert _customer_pitched_tv(app)[0] is False
