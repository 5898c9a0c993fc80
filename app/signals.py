"""Domain events, so packages react to each other without importing each other.

Receivers run synchronously inside the sender's transaction (same `session`), so their writes
commit or roll back together with the event that caused them.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# After a status callback was stored: kwargs session, call (app.models.Call), params.
call_status_changed = _signals.signal("call-status-changed")

# After an opt-out / do-not-call request was recorded: kwargs session, e164, contact_id, at, source.
# Receivers cancel everything pending for that number (callbacks, queued campaign attempts).
opt_out_recorded = _signals.signal("opt-out-recorded")

# After a number's personal data was erased on request (GDPR art. 17): kwargs session, e164, at,
# by. Receivers cancel everything pending for that number, with its history kept.
number_erased = _signals.signal("number-erased")

# Asked before a number is pitched an offer: kwargs session, e164. Each receiver returns the
# offer ids that number already owns by its package's records (support: the SKUs of the
# products registered to it), so existing customers are never pitched what they have.
offers_owned = _signals.signal("offers-owned")

# Asked when the callee of a callback booked from a campaign call says it is a good time now:
# kwargs session, campaign_id, origin_call_sid, language. A receiver returns the slots the
# campaign's flow needs to go on by itself (`campaign_flow` among them), or None when it should
# not (campaign gone, paused or stopped; no attempt behind the call): a person takes it then.
campaign_resume = _signals.signal("campaign-resume")

# A caller in an operator queue fetched the wait music (the first time: they just joined):
# kwargs session, call, params (Twilio's QueueSid, QueuePosition, QueueTime...).
caller_waiting = _signals.signal("caller-waiting")

# A caller left an operator queue (the <Enqueue> action): kwargs session, call, result
# (Twilio's QueueResult: bridged, leave, redirected, hangup, queue-full, error...).
caller_left_queue = _signals.signal("caller-left-queue")
