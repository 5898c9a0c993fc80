"""Outbound calls: one pipeline that every call we place goes through.

A callback someone booked, a campaign's next contact, an operator-first callback: each is a
*kind* of outbound call. The pipeline (pipeline.py) owns what they share, once:

- **pacing** (pacing.py): calls per second per key, kept in the database so the limits hold
  across processes; every call spends the Twilio account's key (CAMPAIGN_ACCOUNT_CPS) plus the
  kind's own keys (a campaign's CPS);
- **one call per number** (numbers.py): a claim per number, taken before consent is asked and
  released in the transaction that records the attempt, so two kinds or two processes never
  ring one person twice because each checked before the other recorded;
- **the order of the steps**: consent only when a pacing slot is near; after consent, wait for
  the next free slot and take it at that very moment (calls stay 1/CPS apart however late a
  thread wakes); the kind's dial marker committed *before* the REST request (a crash after it
  is never redialled blindly);
- **Twilio's answers**, classified once (`Failure`): invalid, blocked, throttled (the whole
  account backs off for CAMPAIGN_BACKOFF_SECONDS), ambiguous (a call may exist: the number
  claim is kept until it runs out), credentials, other;
- **hanging up** a call whose job was cancelled while the request was in flight;
- **asking Twilio** about calls whose final status callback never came (`ask_twilio`), replayed
  as a status callback so every receiver settles it the usual way;
- **claiming rows** exactly once (`take_rows`): SELECT ... FOR UPDATE SKIP LOCKED, then one
  conditional UPDATE per row.

The adapter interface (`OutboundKind`)
--------------------------------------
A kind is an object with `name`, `patience` (how far ahead a pacing slot may lie before and
after consent) and eight hooks. A *job* is whatever identifies one claimed unit of work to the
kind (a callback's id and claim token, a campaign contact row's id). The kind claims jobs its
own way (with `take_rows`) and hands each to `Pipeline.dial(kind, job)`, which calls, in order,
each hook in a transaction it commits right after:

1. `target(session, job, now) -> Target | Outcome` - the number to call, a label, the kind's
   own pacing keys and rates. Return `Outcome.LOST` when the job is not ours any more, or
   `Outcome.LATER` after putting it back when a gate of the kind's own says not now (a
   campaign's calling hours; an operator-first callback with no operator reserved).
2. `consent(session, job, target, now) -> bool` - ask app.consent.check_call with the kind's
   purpose, offer and `automated=` flag, keep the decision, and when it says no settle the
   job (refused, or moved to `next_allowed_at`) and return False.
3. `mark(session, job, now) -> Dial | None` - write the dial marker conditionally (still
   ours, still wanted: not paused, cancelled or opted out meanwhile) and return the REST
   request (`Dial`: number, the Url Twilio fetches, machine detection...). None: not dialled
   (the kind has settled the job).
4. `placed(session, job, info, now) -> bool` - link the CallSid and record the consent
   attempt (app.consent.record_attempt); return True when the job was cancelled meanwhile
   (the pipeline hangs the call up).
5. `failed(session, job, failure, exc, now)` - settle per `Failure`.
6. `give_back(session, job, reason, now, *, retry_at, decided)` - put the job back, not
   dialled (no slot; the number busy with another call, then `retry_at` says when to try
   again; `decided` says consent was already asked).

`Pipeline.dial` returns an `Outcome` (dialled, failed, refused, later, lost, no-slot); on
no-slot the kind stops claiming for this round. How outcomes settle after the call (status
callbacks, retries, reconciliation of `unknown` jobs) stays with the kind, through app.signals.

`Pipeline.recover(kind)` applies one rule to jobs whose worker died, with two more hooks:

7. `expired(now) -> Iterator[(job, marked)]` - take over (for this worker) the jobs whose
   claim ran out, saying for each whether its dial marker is set;
8. `settle_marked(session, job, now)` - a marked job may have created a call: link it to
   evidence of the call or settle it as `unknown`. It is never redialled blindly.

An unmarked job never reached Twilio: the pipeline gives it back (`give_back`) to be dialled.
A number claim the dead worker held runs out by itself (CALLBACK_LEASE_SECONDS).

A third kind: operator-first callbacks
--------------------------------------
A callback that promises a person first reserves and rings an operator and dials the customer
only once the operator accepted. It plugs in without touching the guarantees above:

- its claim takes due operator-first callbacks and reserves an operator (the desk's own
  claim); the operator's leg is the desk's call to our own staff, not a call to the customer,
  so it needs no consent or number claim (it may still spend the account's pacing slot with
  `pacing.reserve`);
- when the operator accepts (a webhook), the desk hands the job to `Pipeline.dial`: `target`
  returns the customer's number (LOST if the callback was cancelled meanwhile), `consent`
  re-checks consent and window at that moment, `mark` returns a `Dial` whose Url bridges the
  customer to the waiting operator, `placed`/`failed` settle the callback as usual, and
  `give_back` releases the operator too when the customer cannot be dialled now.
"""

from app.outbound.pipeline import (
    Dial,
    Failure,
    OutboundKind,
    Outcome,
    Patience,
    Pipeline,
    Target,
    classify,
    take_rows,
)

__all__ = ["Dial", "Failure", "OutboundKind", "Outcome", "Patience", "Pipeline", "Target", "classify",
           "take_rows"]
