"""Rule pack files with mistakes: every mistake in every file is named at once, with the file
and the path of the key (app/consent/rules/README.md lists the keys), so whoever edits a pack
fixes them in one go instead of one per start-up."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.consent import cli as consent_cli
from app.consent.packs import RULES_DIR, RulePackError, load_packs
from app.startup import StartupError, check_rules


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    shutil.copytree(RULES_DIR, directory)
    return directory


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    with pytest.raises(RulePackError) as caught:
        load_packs(directory)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_a_copy_of_the_repository_packs_loads_as_the_packs_themselves(rules):
    assert load_packs(rules) == load_packs(RULES_DIR)


def test_a_misspelt_key_is_named_with_its_path_and_the_key_meant(rules):
    edit(rules, "US.yaml", "business_exempt: false", "busines_exempt: false")
    [problem] = problems(rules)
    assert problem.startswith("US.yaml: registry.busines_exempt: unknown key")
    assert "'business_exempt'" in problem


def test_a_misspelt_required_key_is_also_missing(rules):
    edit(rules, "US.yaml", "max_age_days: 31", "max_age_dayz: 31")
    found = problems(rules)
    assert any(p.startswith("US.yaml: registry.max_age_dayz: unknown key") for p in found)
    assert "US.yaml: registry.max_age_days: missing" in found
    assert len(found) == 2


def test_text_where_a_number_belongs_is_named(rules):
    edit(rules, "US.yaml", "max_age_days: 31", "max_age_days: a month")
    assert problems(rules) == ["US.yaml: registry.max_age_days: 'a month' is not a whole number"]


def test_a_missing_required_key_is_named(rules):
    edit(rules, "US.yaml", "effective_date: 2025-04-11\n", "")
    assert problems(rules) == ["US.yaml: effective_date: missing"]


def test_a_date_must_be_a_date(rules):
    edit(rules, "US.yaml", "effective_date: 2025-04-11", "effective_date: April 2025")
    [problem] = problems(rules)
    assert problem.startswith("US.yaml: effective_date: 'April 2025' is not a date like 2025-04-11")


def test_every_problem_of_a_file_is_named_at_once(rules):
    edit(rules, "US.yaml", "business_exempt: false", "busines_exempt: false")
    edit(rules, "US.yaml", "abandoned_no_retry_hours: 72", "abandoned_no_retry_hours: three days")
    found = problems(rules)
    assert [p.split(":")[:2] for p in found] == [
        ["US.yaml", " registry.busines_exempt"],
        ["US.yaml", " courtesy.abandoned_no_retry_hours"],
    ]


def test_problems_in_two_packs_are_named_together(rules):
    edit(rules, "US.yaml", "business_exempt: false", "busines_exempt: false")
    edit(rules, "IT.yaml", "contract_grace_days: 30", "contract_grace_days: thirty")
    found = problems(rules)
    assert [p.split(":")[0] for p in found] == ["IT.yaml", "US.yaml"]


@pytest.mark.parametrize(
    ("old", "new", "path", "given"),
    [
        # The statuses of rules/README.md.
        ("  source: tcpa\n  status: checked", "  source: tcpa\n  status: verified", "windows.status", "verified"),
        # The purposes campaigns and callbacks are placed for: a misspelt one would never apply.
        ("applies_to: [sales]", "applies_to: [sale]", "registry.applies_to[0]", "sale"),
        ("exemptions: [ebr, written_consent]", "exemptions: [ebr, written]", "registry.exemptions[1]", "written"),
        ("requires: {sales: written_consent", "requires: {sales: written", "automated.requires.sales", "written"),
        ("requires: {sales: written_consent", "requires: {sale: written_consent", "automated.requires.sale", "sale"),
    ],
)
def test_a_value_not_among_the_allowed_ones_is_named_with_them(rules, old, new, path, given):
    edit(rules, "US.yaml", old, new)
    [problem] = problems(rules)
    assert problem.startswith(f"US.yaml: {path}: '{given}' is not one of ")


def test_a_calling_window_that_ends_before_it_starts_is_named(rules):
    edit(rules, "IT.yaml", 'sat: "10:00-19:00"', 'sat: "19:00-10:00"')
    assert problems(rules) == ["IT.yaml: windows.days.sat: '19:00-10:00' ends before it starts"]


def test_a_state_rule_s_mistakes_are_named_with_their_path(rules):
    edit(rules, "US.yaml", '"239", "305"', '"239", "05"')
    edit(rules, "US.yaml", "    purposes: [sales]\n", "    purposes: [sale]\n")  # the first region's: Florida
    found = problems(rules)
    assert found[0] == ("US.yaml: regions.FL.area_codes[1]: '05' is not a North American area code "
                        "(three digits, not starting 0 or 1)")
    assert found[1].startswith("US.yaml: regions.FL.purposes[0]: 'sale' is not one of ")


def test_a_region_closed_on_holidays_needs_a_calendar_python_holidays_knows(rules):
    edit(rules, "US.yaml", "  AL:\n", "  XX:\n")
    assert problems(rules) == ["US.yaml: regions.XX.holidays: python-holidays has no calendar for US-XX"]


def test_a_region_s_extra_holiday_is_a_day_of_the_year_or_a_day_from_easter(rules):
    edit(rules, "US.yaml", '{name: Flag Day, date: "06-14"}', '{name: Flag Day, date: "06-31"}')
    edit(rules, "US.yaml", "{name: Good Friday, easter: -2}", "{name: Good Friday}")
    found = problems(rules)
    assert "US.yaml: regions.PA.extra_holidays[0]: give either date (MM-DD) or easter (days from Easter Sunday)" in found
    assert "US.yaml: regions.PA.extra_holidays[1].date: '06-31' is not a day of the year like 06-14" in found


def test_a_week_without_sunday_is_named(rules):
    edit(rules, "NL.yaml", ", sun: closed}", "}")
    assert problems(rules) == ["NL.yaml: windows.days.sun: missing"]


def test_courtesy_file_mistakes_are_named_with_the_file(rules):
    edit(rules, "courtesy.yaml", "max_attempts_per_day: 2", "max_attempt_per_day: 2")
    edit(rules, "courtesy.yaml", "busy: 30", "busy: half an hour")
    found = problems(rules)
    assert found[0].startswith("courtesy.yaml: max_attempt_per_day: unknown key")
    assert "'max_attempts_per_day'" in found[0]
    assert found[1] == "courtesy.yaml: retry_spacing_minutes.busy: 'half an hour' is not a whole number"
    assert len(found) == 2


def test_a_pack_for_another_country_than_its_file_name_is_refused(rules):
    edit(rules, "NL.yaml", "country: NL", "country: BE")
    assert problems(rules) == ["NL.yaml: country: BE does not match the file name"]


def test_a_file_that_is_not_yaml_is_named(rules):
    (rules / "FR.yaml").write_text("country: FR\nname: [France\n", encoding="utf-8")
    [problem] = problems(rules)
    assert problem.startswith("FR.yaml: not valid YAML")


def test_start_up_passes_the_repository_packs_and_catalogue():
    check_rules()


def test_start_up_names_the_first_pack_problem_and_where_to_see_them_all(rules):
    edit(rules, "US.yaml", "business_exempt: false", "busines_exempt: false")
    edit(rules, "IT.yaml", "contract_grace_days: 30", "contract_grace_days: thirty")
    with pytest.raises(StartupError) as caught:
        check_rules(rules)
    assert str(caught.value) == ("rule packs: IT.yaml: registry.contract_grace_days: 'thirty' is not a whole "
                                 "number (and 1 more: run `cortese compliance packs`)")


def test_compliance_packs_lists_every_problem_and_fails(rules, monkeypatch):
    edit(rules, "US.yaml", "business_exempt: false", "busines_exempt: false")
    edit(rules, "IT.yaml", "contract_grace_days: 30", "contract_grace_days: thirty")
    monkeypatch.setattr(consent_cli, "load_packs", functools.partial(load_packs, rules))
    result = CliRunner().invoke(consent_cli.cli, ["packs"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "IT.yaml: registry.contract_grace_days: 'thirty' is not a whole number"
    assert lines[1].startswith("US.yaml: registry.busines_exempt: unknown key")
    assert lines[-1] == "2 problem(s) in the rule packs"
