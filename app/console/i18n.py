"""The console's words and the operator's chosen language.

Pages ask for a message by key (`t("bad_login")`); the key names an English text marked for
gettext here (`_l`, or `_lp` with the key as context where one English text has two meanings).
The Italian and Dutch texts live in Babel catalogs, app/translations/<lang>/LC_MESSAGES/
messages.po, which a translator edits without reading Python (see README: "Console
translations"). An untranslated text shows in English and an unknown key as itself, so a page
never breaks for want of a translation. Placeholders are {name}, filled in after translation.
"""

from __future__ import annotations

from typing import TypeAlias

from flask import request, session
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_babel.speaklater import LazyString

from app.i18n import LANGUAGES
from app.refusals import Reason, Refusal

LANG_KEY = "console_lang"

# Texts per language never sit in Python: tests/test_words_as_data.py keeps it so.
Message: TypeAlias = "LazyString | str"

M: dict[str, Message] = {
    "app_title": _l("Operator console"),
    "login": _l("Log in"),
    "logout": _l("Log out"),
    "username": _l("Username"),
    "password": _l("Password"),
    "bad_login": _l("Wrong username or password."),
    "login_needed": _l("Please log in to continue."),
    "csrf_failed": _l("The form has expired or is invalid: reload the page and try again."),
    "bad_text": _l("The field {field} contains a control character that is not allowed: remove it and try again."),
    "login_throttled": _l("Too many login attempts: try again in {minutes} minutes."),
    "language": _l("Language"),
    "dashboard": _l("Dashboard"),
    "calls": _l("Calls"),
    "call": _l("Call"),
    "tickets": _l("Tickets"),
    "claims": _l("Warranty claims"),
    "callbacks": _l("Callbacks"),
    "campaigns": _l("Campaigns"),
    "contacts": _l("Contacts"),
    "consent": _l("Consent"),
    "registries": _l("Registries"),
    "compliance": _l("Compliance decisions"),
    "flows": _l("Flows"),
    "softphone": _l("Softphone (simulator)"),
    "calls_per_hour": _l("Calls per hour (last 24 hours)"),
    "outcomes": _l("Outcomes (last 24 hours)"),
    "abandonment": _l("Abandonment rate per campaign"),
    "callbacks_today": _l("Callbacks due today"),
    "callbacks_missed": _l("Missed callbacks"),
    "open_tickets": _l("Open tickets"),
    "not_available": _l("Not available in this installation yet."),
    "none": _l("Nothing here."),
    "status": _l("Status"),
    "direction": _l("Direction"),
    "from": _l("From"),
    "to": _l("To"),
    "started": _l("Started"),
    "ended": _l("Ended"),
    "duration": _l("Duration (s)"),
    "flow": _l("Flow"),
    "node": _l("Node"),
    "language_col": _l("Language"),
    "transcript": _l("Transcript"),
    "path": _l("Path through the flow"),
    "steps": _l("Steps"),
    "events": _l("Status events"),
    "system": _l("System"),
    "caller": _l("Caller"),
    "kind": _l("Kind"),
    "input": _l("Input"),
    "outcome": _l("Outcome"),
    "said": _l("Said"),
    "filter": _l("Filter"),
    "all": _lp("all", "All"),
    "number": _l("Number"),
    "previous": _l("Previous"),
    "next": _l("Next"),
    "page_of": _l("{first}–{last} of {total}"),
    "not_found": _l("Not found."),
    "reference": _l("Reference"),
    "subject": _l("Subject"),
    "priority": _l("Priority"),
    "created": _l("Created"),
    "description": _l("Description"),
    "save": _l("Save"),
    "me": _l("Your settings"),
    "time_zone_help": _l("Where you work: every time in the console is shown on this clock, and «today» is your day there."),
    "time_zone_console": _l("The console's zone ({zone})"),
    "time_zone_saved": _l("Times are now shown in {zone}."),
    "time_zone_unknown": _l("«{zone}» is not a time zone: pick one from the list."),
    "change": _l("change"),
    "saved": _l("Saved."),
    "export_csv": _l("Export CSV"),
    "welcome": _l("Welcome, {name}."),
    "no_data": _l("No data in this period."),
    "hour": _l("Hour"),
    "count": _l("Count"),
    "api_docs": _l("OpenAPI document"),
    "mermaid_note": _l("Mermaid source of the diagram (paste into any Mermaid viewer)."),
    "error": _l("Error"),
    "search": _l("Search"),
    "region": _l("Country"),
    "country": _l("Country"),
    "name": _l("Name"),
    "time_zone": _l("Time zone"),
    "times_in": _l("Times: {zone}."),
    "source": _l("Source"),
    "erased": _l("Erased"),
    "consent_history": _l("Consent history"),
    "opt_outs": _l("Opt-outs"),
    "when": _l("When"),
    "action": _l("Action"),
    "purpose": _l("Purpose"),
    "channel": _l("Channel"),
    "recorded_by": _l("Recorded by"),
    "allowed": _l("Allowed"),
    "rule": _l("Rule"),
    "reason": _l("Reason"),
    "next_allowed": _l("Next allowed"),
    "registry": _l("Registry"),
    "file": _l("File"),
    "obtained": _l("Obtained"),
    "numbers": _l("Numbers"),
    "rejected": _l("Rejected lines"),
    "opt_out_saved": _l("Opt-out recorded: the number will not be called again."),
    "record_opt_out": _l("Record opt-out"),
    "erase": _l("Erase data (GDPR)"),
    "erase_confirm": _l("Permanently erase this contact's personal data?"),
    "erased_done": _l("Personal data erased."),
    "import_contacts": _l("Import contacts (CSV)"),
    "import_registry": _l("Import registry"),
    "import": _l("Import"),
    "import_refused": _l("Import refused"),
    "import_done": _l("Imported: {created} new, {updated} updated, {errors} rows with errors."),
    "registry_done": _l("Registry imported: {numbers} numbers, {rejected} lines rejected."),
    "registry_copy_refused": _l("Copy refused: {refused} of {lines} lines are not valid numbers, more than the {allowed}% allowed. The copy in use stays active."),
    "registry_copy_empty": _l("Copy refused: the file holds no number. The copy in use stays active."),
    "max_refused_percent": _l("Refused lines allowed (%)"),
    "registry_formats": _l("Formats"),
    "line": _l("Line"),
    "more_bad_lines": _l("More lines with errors, not shown: {count}."),
    "import_running": _l("Import running: this page refreshes itself."),
    # A service's refusals (app.refusals.Refusal), by code.
    "refusal_due_without_zone": _l("Give the time zone of the chosen time."),
    "refusal_due_in_past": _l("The chosen time has already passed."),
    "refusal_who_missing": _l("Say who is doing this."),
    "refusal_reason_missing": _l("Say why the callback is cancelled."),
    "refusal_callback_not_movable": _l("A {status} callback cannot be moved."),
    "refusal_callback_not_cancellable": _l("A {status} callback cannot be cancelled."),
    "refusal_campaign_step_impossible": _l("Cannot {event} a {status} campaign; possible: {possible}."),
    "refusal_campaign_final": _l("Cannot {event} a {status} campaign: it is final."),
    "refusal_campaign_flow_missing": _l("There is no flow called «{flow}» (campaign flows: {choices})."),
    "refusal_campaign_flow_not_campaign": _l("«{flow}» is not written for campaigns; choose one of: {choices}."),
    "choose_flow": _l("— choose a flow —"),
    "refusal_campaign_name_length": _l("The name needs 1 to 100 characters."),
    "refusal_campaign_name_taken": _l("A campaign called «{name}» exists already."),
    "refusal_campaign_offer_missing": _l("A sales campaign must say which offer it presents."),
    "refusal_campaign_offer_code": _l("Invalid offer code: {value} (letters, digits and - . : + only)."),
    "refusal_campaign_languages_missing": _l("Choose at least one language."),
    "refusal_campaign_reason_missing": _l("Say why we call in every campaign language (missing: {missing})."),
    "refusal_campaign_hours_not_range": _l("«{hours}» is not a range like 09:00-20:00."),
    "refusal_campaign_hours_order": _l("The calling hours must start before they end."),
    "refusal_campaign_cps": _l("Calls per second: above 0 and at most {most}."),
    "refusal_campaign_concurrency": _l("Concurrent calls: 1 to 1000."),
    "refusal_campaign_attempts": _l("Attempts per contact: 1 to 10."),
    "refusal_import_empty": _l("The file is empty (it needs a header row)."),
    "refusal_import_not_csv": _l("Line 1: not CSV ({detail})."),
    "refusal_import_unknown_columns": _l("Line 1: unknown columns {unknown}; known columns: {known}."),
    "refusal_import_missing_columns": _l("Line 1: required columns missing: {missing}."),
    "refusal_import_duplicated_columns": _l("Line 1: columns given twice: {duplicated}."),
    "refusal_registry_no_number_column": _l("Line {line}: the header has no number column ({known})."),
    "refusal_registry_unknown_country": _l("No do-not-call registry for {country} (known: {known})."),
    "refusal_registry_not_imported": _l("No {country} registry copy imported."),
    "refusal_time_not_hhmm": _l("«{value}» is not a time like 09:00."),
    "refusal_days_not_range": _l("«{item}» is not a range of days like mon-fri."),
    "refusal_days_backwards": _l("The range of days «{item}» runs backwards."),
    "refusal_day_unknown": _l("«{item}» is not a day; days are written {known}."),
    "refusal_days_missing": _l("At least one calling day is needed."),
    "refusal_number_empty": _l("The phone number is missing."),
    "refusal_number_too_long_text": _l("«{value}» is too long to be a phone number."),
    "refusal_number_no_country_code": _l("«{value}»: no country code (write it as +44...)."),
    "refusal_number_not_a_number": _l("«{value}» is not a phone number."),
    "refusal_number_too_short": _l("«{value}» is too short for a phone number."),
    "refusal_number_too_long": _l("«{value}» is too long for a phone number."),
    "refusal_number_invalid_for_country": _l("«{value}» is not a valid number for its country."),
    "refusal_number_fictional": _l("«{value}» is a number reserved for TV and radio drama: nobody answers it."),
    # One line of an import (app.refusals.Reason), by code.
    "refusal_line_ref": _l("Line {line}"),
    "refusal_line_not_csv": _l("not valid CSV ({detail})."),
    "refusal_line_too_many_values": _l("{values} values, but the header names {columns} columns."),
    "refusal_line_control_character": _l("the column {column} contains a control character that is not allowed."),
    "refusal_line_unknown_columns": _l("unknown columns {unknown}; known columns: {known}."),
    "refusal_line_source_missing": _l("no source: say where the number came from."),
    "refusal_line_source_refused": _l("source «{value}» refused: numbers from public directories or scraped web pages may not be used."),
    "refusal_line_special_number": _l("{number}: we never call this number ({reason})."),
    "refusal_line_language": _l("language «{value}»: expected one of {known}."),
    "refusal_line_time_zone": _l("time zone «{value}»: not an IANA zone such as Europe/London."),
    "refusal_line_consent_at_missing": _l("consent_at is required with consent_purposes (when was it given?)."),
    "refusal_line_consent_channel": _l("consent channel «{value}»: expected one of {known}."),
    "refusal_line_consent_purpose": _l("consent purpose «{value}»: expected one of {known}."),
    "refusal_line_yes_no": _l("{column} «{value}»: expected yes or no."),
    "refusal_line_bad_date": _l("bad date in {column}: «{value}» (write YYYY-MM-DD)."),
    "refusal_line_other_country": _l("«{value}» is a +{calling_code} number, not a {country} one."),
    "refusal_registry_obtained_future": _l("The obtained date {obtained} is after today ({now}): give the date the copy was downloaded."),
    "refusal_registry_bad_date": _l("«{value}» is not a date."),
    "refusal_registry_bad_threshold": _l("«{value}» is not a percentage between 0 and 100."),
    "refusal_line_not_country_number": _l("«{value}» is not a {country} phone number."),
    "refusal_no_such_contact": _l("no such contact."),
    "refusal_contact_simulated": _l("contact known only from simulated calls: never called."),
    "refusal_ticket_status_same": _l("The ticket is {status} already."),
}


def current_language() -> str:
    chosen = session.get(LANG_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    best = request.accept_languages.best_match(LANGUAGES) if request else None
    return best or "en"


def t(key: str, **values: object) -> str:
    """The message `key` in the operator's language, with {placeholders} filled in."""
    message = M.get(key)
    if message is None:
        return key
    text = message_text(message)
    return text.format(**values) if values else text


def message_text(message: Message) -> str:
    """A message in the operator's language (gettext's, through the request's locale)."""
    return str(message)


def refusal_text(exc: Exception | str) -> str:
    """A service's refusal (or one line's Reason) in the operator's language; its own (English)
    text when it has no code the console knows."""
    if isinstance(exc, (Refusal, Reason)) and f"refusal_{exc.code}" in M:
        return t(f"refusal_{exc.code}", **exc.values)
    return str(exc)


def add_messages(messages: dict[str, Message]) -> None:
    """Let console modules for other packages bring their own labels."""
    M.update(messages)
