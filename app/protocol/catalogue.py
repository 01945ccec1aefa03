"""The entry catalogue: every kind of journal entry and the exact shape of its payload.

One definition judges an entry in three places, so a desk never writes what the store would
refuse and never tries to fold what it could not:

* the desk, when it writes (`app.models.journal`): a bad value is a ValidationError naming the
  field, shown in the form or on the command line, and nothing is saved;
* the store, when it accepts a push (`app.sync.protocol.parse_wire_entry`): the entry is
  answered ``rejected`` with the field and the reason;
* the desk, when it applies a pulled entry: it is set aside (quarantined) with the reason.

`check_entry` is deterministic -- it looks at the entry alone, never at a clock or a database --
so every desk sets aside exactly the same entries. Bump `CATALOGUE_VERSION` whenever a shape
is loosened or a kind added: desks then re-check what they set aside and apply what now passes.

Limits that are part of the protocol:

    strings      valid Unicode, no NUL, no control characters (a newline and a tab only in
                 multi-line text); single-line fields refuse line breaks
    card number  1-3 capital letters, '-', 4 to 7 digits, counter 1..9,999,999
    payload      at most 64 KiB as compact JSON, 16 levels deep
    operator     1 to 80 characters, one line
    times        ISO-8601 with a zone, between 2020 and 2200; a "when it happened" time may not
                 be later than the entry's own stamp plus MAX_STAMP_AHEAD_S
"""

from __future__ import annotations

from typing import Any

from app.errors import ValidationError
from app.protocol import people as _people
from app.protocol.checks import (  # the limits and checks the catalogue names, re-exported
    _NO_CONTEXT,
    _card_id,
    _Context,
    card_number,
    flag,
    happened,
    integer,
    list_of,
    mapping_of,
    moment,
    nullable,
    number,
    one_of,
    text,
)
from app.protocol.checks import (
    CARD_NUMBER as CARD_NUMBER,
)
from app.protocol.checks import (
    COUNTER_MAX as COUNTER_MAX,
)
from app.protocol.checks import (
    MAX_STAMP_AHEAD_S as MAX_STAMP_AHEAD_S,
)
from app.protocol.checks import (
    STAMP_MAX_MS as STAMP_MAX_MS,
)
from app.protocol.checks import (
    STAMP_MIN_MS as STAMP_MIN_MS,
)
from app.protocol.checks import (
    Obj as Obj,
)
from app.protocol.checks import (
    line as line,
)
from app.protocol.text import text_problem

CATALOGUE_VERSION = 5  # 2: times bounded to 2020-2200; 3: the intake door's kinds;
# 4: outbound webhook subscriptions; 5: declines, escalate-now, the ladder held, acks with an ETA,
# the outbox (message.*), card distribution lists, the store's desk facts (store.desk_*)

OPERATOR_MAX = 80
# A payload larger than this (as compact JSON) is refused: cards carry text, not files.
PAYLOAD_MAX_BYTES = 64 * 1024

# -- card vocabulary (the projection folds these) ---------------------------------------

# Intake fields a person fills in (DOMAIN.md, "Intake"), and which of them may hold several
# lines: the rest appear on one line of the queue, the sheet and the terminal.
INTAKE_FIELDS: tuple[str, ...] = (
    "kind_of_work", "category", "site", "building", "floor", "room", "equipment", "symptom",
    "impact_scope", "affected_users", "risk_signs", "source_channel", "reporter",
    "onsite_contact", "tried", "workaround", "impact", "urgency", "q_what", "q_where",
    "q_when", "q_workaround", "q_contact", "assignee", "started_at",
)
MULTILINE_INTAKE = frozenset(
    {"risk_signs", "tried", "workaround", "q_what", "q_where", "q_when", "q_workaround",
     "q_contact"}
)
STATUSES = ("registered", "in_progress", "waiting_customer", "waiting_contractor", "restored",
            "closed")
PRIORITIES = ("P1", "P2", "P3", "P4")
KINDS_OF_WORK = ("emergency", "request", "planned")
ACK_METHODS = ("phone", "in_person", "sms", "voice", "radio")
CHANNELS = ("sms", "voice")
REPLY_ROADS = ("sms", "voice", "desk")  # how a decline or an escalate-now reached the desk
SLA_CLOCKS = ("reaction", "recovery", "update")

# -- the kinds ------------------------------------------------------------------------

_intake = Obj(optional={
    name: nullable(text(4000) if name in MULTILINE_INTAKE else line(300))
    for name in INTAKE_FIELDS
})
_closure = Obj(required={k: text(2000, empty=False) for k in ("cause", "workaround", "fix",
                                                               "lessons")},
               optional={"confirmed_by": line(120)})
_step = {"tier": integer(1, 50), "attempt": integer(1, 1000)}
_page = {**_step, "channel": one_of(*CHANNELS), "to": line(40, empty=False)}
_sid = line(64, empty=False)
_who = line(120, empty=False)
# What goes out to people who are informed, not paged (app/services/messages): a notice of
# the notification plan, a customer text, a stakeholder status update.
MESSAGE_TYPES = ("notice", "customer", "status")
MESSAGE_CHANNELS = ("sms", "email")
MESSAGE_RECIPIENTS_MAX = 50
_address = line(254, empty=False)  # an E.164 number or an e-mail address
_recipient = Obj({"to": _address, "channel": one_of(*MESSAGE_CHANNELS)}, {"name": line(120)})
_message = line(36, empty=False)  # the id of its message.queued entry

#: Card entries: about one card (or a pseudo card such as the pager's opt-outs).
CARD_PAYLOADS: dict[str, Obj] = {
    "card.registered": Obj(
        {"priority": one_of(*PRIORITIES), "priority_reason": line(200, empty=False),
         "number": card_number},
        {"fields": _intake, "registered_at": happened, "entered_late": flag}),
    "card.fields": Obj({"fields": _intake}),
    "card.priority": Obj(
        {"priority": one_of(*PRIORITIES), "reason": line(200, empty=False)},
        {"from": nullable(one_of(*PRIORITIES)), "evidence": text(2000), "role": line(40)}),
    "card.status": Obj(
        {"status": one_of(*STATUSES)},
        {"from": nullable(one_of(*STATUSES)), "reason": text(2000), "closure": nullable(_closure),
         "at": happened}),
    "card.note": Obj({"text": text(8000, empty=False)}),
    # `to`: whom the desk sends it to (the card's distribution list when it was posted);
    # each delivery is a message.* entry of its own (app/services/messages).
    "card.status_message": Obj({"text": line(500, empty=False)},
                               {"next_update_at": nullable(moment), "at": happened,
                                "to": list_of(_recipient, MESSAGE_RECIPIENTS_MAX)}),
    "card.ack": Obj({"who": _who, "how": one_of(*ACK_METHODS)},
                    {"sid": _sid, "at": happened, **_step, "number": line(40),
                     "contact_id": nullable(line(80)), "eta_minutes": integer(0, 1440)}),
    "card.confirmed": Obj(optional={"at": happened}),
    "card.report": Obj({"text": text(2000, empty=False)}, {"reporter": line(200)}),
    "card.renumbered": Obj({"number": card_number}, {"was": nullable(card_number)}),
    # The post-incident review of a closed P1/P2, and each of its measures ticked off.
    "card.review": Obj(
        {"summary": text(4000, empty=False), "owner": _who, "due": moment,
         "measures": list_of(line(300, empty=False), 5)},
        {"at": happened}),
    "card.review_measure_done": Obj({"measure": integer(1, 5)},
                                    {"at": happened, "note": line(300)}),
    "sla.breach": Obj({"clock": one_of(*SLA_CLOCKS), "due": happened},
                      {"at": happened, "noticed_late": flag}),
    "ladder.step": Obj(
        {**_step, "due": happened},
        {"late": flag, "late_by_s": number(-1e9, 1e9), "who": nullable(_who),
         "contact_id": nullable(line(80)), "to": Obj(optional={c: line(40) for c in CHANNELS}),
         "code": nullable(line(16)), "desk_alarm": flag, "of": integer(1, 50),
         "unreachable": nullable(text(500)),
         # the duty coordinator's deadline to name an owner (an unrouted card)
         "owner_by": nullable(moment)}),
    "ladder.page": Obj({**_page, "sid": _sid}, {"status": nullable(line(40))}),
    "ladder.page_failed": Obj(
        {**_page, "try": integer(1, 1000)},
        {"retryable": flag, "error": text(2000), "status": nullable(integer(0, 999)),
         "retry_at": nullable(moment), "in_doubt": flag}),
    "ladder.page_skipped": Obj(_page, {"reason": text(500)}),
    "ladder.page_cancelled": Obj(_page, {"reason": text(500)}),
    "ladder.unreachable": Obj(_step, {"reason": text(500), "at": happened}),
    "ladder.exhausted": Obj({"tiers": integer(1, 50)}, {"due": happened, "late": flag}),
    "ladder.call_result": Obj({**_page, "sid": _sid, "outcome": line(40, empty=False)},
                              {"at": happened}),
    "ladder.reply": Obj({"from": line(40, empty=False), "body": text(1600), "sid": _sid},
                        {"at": happened, **_step}),
    # A paged person's "I can't" (reply `<code> d`, key 6): the next tier is due at once.
    "ladder.declined": Obj(
        {**_step, "to": line(40, empty=False)},
        {"who": nullable(_who), "contact_id": nullable(line(80)), "reason": text(500),
         "how": one_of(*REPLY_ROADS), "sid": _sid, "at": happened}),
    # Escalate now (reply `<code> e`, key 5, or the dispatcher): the next tier is due at once.
    "ladder.escalate": Obj(
        {"by": _who},
        {**_step, "reason": text(500), "how": one_of(*REPLY_ROADS), "sid": _sid,
         "at": happened}),
    # The dispatcher holds the ladder (no further tiers fire) with a reason, and resumes it.
    "ladder.hold": Obj({"by": _who, "reason": text(500, empty=False)},
                       {"at": happened, "until": nullable(moment)}),
    "ladder.resume": Obj({"by": _who}, {"at": happened, "reason": text(500)}),
    "ladder.taken_over": Obj({"to": line(40, empty=False)}, {"from": nullable(line(40))}),
    # The outbox (app/services/messages/outbox.py): a message is queued (journal first, by
    # the one desk that sends it), then sent, failed (retried until its time to live ends),
    # cancelled by a person, or confirmed again by a person after it went stale.
    "message.queued": Obj(
        {"type": one_of(*MESSAGE_TYPES), "channel": one_of(*MESSAGE_CHANNELS), "to": _address,
         "body": text(4000, empty=False), "expires_at": moment},
        {"name": line(120), "role": line(80), "subject": line(200), "trigger": line(36),
         "due_by": nullable(moment), "template": line(80)}),
    "message.sent": Obj({"message": _message},
                        {"sid": _sid, "status": nullable(line(40)),
                         "via": one_of("sms", "email", "page"), "at": happened, "late": flag}),
    "message.failed": Obj(
        {"message": _message, "error": text(2000, empty=False)},
        {"try": integer(1, 1000), "retryable": flag, "retry_at": nullable(moment),
         "status": nullable(integer(0, 999)), "in_doubt": flag, "at": happened}),
    "message.cancelled": Obj({"message": _message, "reason": text(500, empty=False)},
                             {"by": _who, "at": happened}),
    "message.confirmed": Obj({"message": _message, "by": _who},
                             {"at": happened, "expires_at": moment}),
    # A line of the notification plan (or a customer text) that had nobody to go to.
    "message.unresolved": Obj(
        {"type": one_of(*MESSAGE_TYPES), "who": line(120, empty=False),
         "reason": text(500, empty=False)},
        {"trigger": line(36), "at": happened}),
    # The card's distribution list: who gets its status updates besides the plan's people.
    "card.distribution": Obj({"op": one_of("add", "remove"), "to": _address},
                             {"name": line(120), "channel": one_of(*MESSAGE_CHANNELS)}),
    "pager.stop": Obj({"number": line(40, empty=False), "sid": _sid},
                      {"word": line(40), "at": happened}),
    "pager.start": Obj({"number": line(40, empty=False), "sid": _sid},
                       {"word": line(40), "at": happened}),
    # The one short help reply to a reply that was not a command (app/services/escalation/
    # reply_codes.py); its id comes from the reply's MessageSid. At most one per number in
    # ten minutes, counted from these entries.
    "pager.help": Obj({"number": line(40, empty=False), "sid": _sid},
                      {"code": nullable(line(16)), "problem": line(200), "at": happened}),
    # Contact verification (`dispatch-desk roster verify`): a test message with a code went
    # to a contact, and the contact's reply with that code (id from its MessageSid).
    "roster.verify_sent": Obj(
        {"contact_id": line(80, empty=False), "number": line(40, empty=False),
         "code": line(16, empty=False)},
        {"name": line(120), "group": line(80), "sid": _sid, "at": happened}),
    "roster.verified": Obj(
        {"contact_id": line(80, empty=False), "number": line(40, empty=False), "sid": _sid},
        {"code": line(16), "name": line(120), "at": happened}),
    # A set-aside or refused entry that an operator discarded, with why (app/sync/quarantine).
    "sync.discarded": Obj({"entry": line(36, empty=False), "reason": line(300, empty=False)},
                          {"direction": one_of("pulled", "refused", "local"),
                           "kind": nullable(line(40))}),
}

# The kinds about people and the rules (accounts, tokens, the audit trail, the store's desk
# facts) live in app/protocol/people.py, named here too; audit and desk facts are card entries.
AUDIT_CARD, DESKS_CARD, OPERATORS_CARD, SIGNINS_CARD = (
    _people.AUDIT_CARD, _people.DESKS_CARD, _people.OPERATORS_CARD, _people.SIGNINS_CARD)
AUDIT_PAYLOADS, STORE_PAYLOADS, OPERATOR_PAYLOADS = (
    _people.AUDIT_PAYLOADS, _people.STORE_PAYLOADS, _people.OPERATOR_PAYLOADS)
OPERATOR_KINDS, SIGNIN_KINDS, TOKEN_KINDS = (
    _people.OPERATOR_KINDS, _people.SIGNIN_KINDS, _people.TOKEN_KINDS)
OPERATOR_ID, ROLE_NAME, TOKEN_PREFIX = _people.OPERATOR_ID, _people.ROLE_NAME, _people.TOKEN_PREFIX
CARD_PAYLOADS.update(AUDIT_PAYLOADS)
CARD_PAYLOADS.update(STORE_PAYLOADS)

#: Shift handover entries live under the pseudo card id HANDOVER_CARD.
HANDOVER_CARD = "handover"
_handover_settle = Obj(
    {"shift": line(40, empty=False), "to_shift": line(40, empty=False),
     "outgoing": line(120), "incoming": line(120),
     "cards": list_of(_card_id, 20_000), "numbers": list_of(card_number, 20_000),
     "read_back": list_of(card_number, 20_000), "reason": text(2000)},
    {"to_label": line(80)})
HANDOVER_PAYLOADS: dict[str, Obj] = {
    "handover.edited": Obj({"shift": line(40, empty=False), "target": line(40, empty=False),
                            "field": line(40, empty=False), "text": line(300, empty=False)}),
    "handover.accepted": _handover_settle,
    "handover.overridden": _handover_settle,
}

#: The one door in (app/protocol/intake.py): an intake item lives under its own id (a UUID
#: made where it arrived), never becomes a card itself, and ends accepted, attached or
#: dismissed. Integrations and maintenance windows live under pseudo cards of their own.
INTAKE_CHANNELS = ("webhook", "alertmanager", "grafana", "email", "sms", "call", "heartbeat",
                   "manual")
INTEGRATION_KINDS = ("webhook", "alertmanager", "grafana", "email", "sms", "heartbeat")
ALERT_STATUSES = ("firing", "resolved")
INTEGRATIONS_CARD = "integrations"
MAINTENANCE_CARD = "maintenance"
#: The one door out (app/services/outbound.py): webhook subscriptions live under this pseudo
#: card; the card events a subscription may choose. Its secret is never in an entry.
WEBHOOKS_CARD = "webhooks"
WEBHOOK_EVENTS = ("registered", "priority", "acknowledged", "restored", "closed")


_name = line(80, empty=False)
INTAKE_PAYLOADS: dict[str, Obj] = {
    "intake.received": Obj(
        {"integration": _name, "channel": one_of(*INTAKE_CHANNELS),
         "dedup_key": line(300, empty=False), "status": one_of(*ALERT_STATUSES),
         "summary": line(300, empty=False), "received_at": happened},
        {"details": text(4000), "source": line(200), "node": line(200), "metric": line(200),
         "severity": line(40), "site": line(200), "category": line(200),
         "kind_of_work": one_of(*KINDS_OF_WORK), "callback": line(40),
         "links": list_of(line(2000, empty=False), 20), "labels": mapping_of(line(1000), 64),
         "fields": _intake, "maintenance": line(120), "auto": flag}),
    "intake.repeated": Obj(
        {"count": integer(1, 1_000_000), "status": one_of(*ALERT_STATUSES), "at": happened},
        {"summary": line(300), "details": text(4000), "integration": line(80),
         "channel": one_of(*INTAKE_CHANNELS),
         # links the repeat brings (a voicemail left on the emergency line after the call)
         "links": list_of(line(2000, empty=False), 20)}),
    # The card is registered in the same write, which hands out its number: the card's id
    # is what links them; the number is added when it is known.
    "intake.accepted": Obj({"card": _card_id}, {"number": card_number}),
    "intake.attached": Obj({"number": card_number}, {"card": _card_id}),
    "intake.dismissed": Obj({"reason": line(300, empty=False)}),
    "integration.added": Obj(
        {"name": _name, "kind": one_of(*INTEGRATION_KINDS), "key_hash": line(128, empty=False)},
        {"category": line(200), "site": line(200), "kind_of_work": one_of(*KINDS_OF_WORK),
         "every_min": integer(1, 10_080), "note": line(300),
         # kind "sms": what the store texts back at once to a new emergency SMS
         "reply": line(320)}),
    "integration.revoked": Obj({"name": _name}, {"reason": line(300)}),
    "maintenance.scheduled": Obj(
        {"id": line(40, empty=False), "name": line(120, empty=False), "starts": moment,
         "ends": moment},
        {"site": line(200), "category": line(200), "integration": line(80),
         "repeat": one_of("none", "daily", "weekly"), "tz": line(64)}),
    "maintenance.cancelled": Obj({"id": line(40, empty=False)}, {"reason": line(300)}),
    "webhook.subscribed": Obj(
        {"id": line(40, empty=False), "name": line(40, empty=False),
         "url": line(2000, empty=False), "events": list_of(one_of(*WEBHOOK_EVENTS), 5)},
        {"note": line(300)}),
    "webhook.removed": Obj({"id": line(40, empty=False), "name": line(40, empty=False)},
                           {"reason": line(300)}),
}
INTAKE_KINDS = frozenset(k for k in INTAKE_PAYLOADS if k.startswith("intake."))
_PSEUDO_HOME = {"integration.": INTEGRATIONS_CARD, "maintenance.": MAINTENANCE_CARD,
                "webhook.": WEBHOOKS_CARD}

SYNC_KINDS = frozenset({"sync.discarded"})
HANDOVER_KINDS = frozenset(HANDOVER_PAYLOADS)
LADDER_KINDS = frozenset(k for k in CARD_PAYLOADS if k.startswith(("ladder.", "pager.")))
CARD_KINDS = frozenset(CARD_PAYLOADS) - SYNC_KINDS
KINDS = frozenset(CARD_PAYLOADS) | HANDOVER_KINDS | frozenset(INTAKE_PAYLOADS) | OPERATOR_KINDS
#: The pseudo card that sync bookkeeping entries live under.
SYNC_CARD = "00000000-0000-4000-8000-000000000000"


def check_operator(value: Any, path: str = "operator") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > OPERATOR_MAX:
        raise ValidationError(f"{path} must be a name of 1 to {OPERATOR_MAX} characters",
                              field=path)
    problem = text_problem(value)
    if problem:
        raise ValidationError(f"{path} {problem}", field=path)
    return value


def stamp_ms(hlc: str) -> int:
    """The physical part of a stamp, checked to lie between 2020 and 2200."""
    head = hlc.split(".", 1)[0]
    ms = int(head) if head.isdigit() else -1
    if not STAMP_MIN_MS <= ms < STAMP_MAX_MS:
        raise ValidationError("hlc: the stamp's time is not between 2020 and 2200; check the "
                              "desk's clock", field="hlc")
    return ms


def check_payload(kind: str, card_id: str, payload: Any, hlc: str) -> None:
    """Raise ValidationError (naming the field) unless `payload` is a valid `kind` entry."""
    if kind in HANDOVER_PAYLOADS:
        if card_id != HANDOVER_CARD:
            raise ValidationError(f"{kind} belongs to card_id {HANDOVER_CARD!r}", field="card_id")
        spec = HANDOVER_PAYLOADS[kind]
    elif kind in OPERATOR_PAYLOADS:
        account_home = SIGNINS_CARD if kind in SIGNIN_KINDS else OPERATORS_CARD
        if card_id != account_home:
            raise ValidationError(f"{kind} belongs to card_id {account_home!r}",
                                  field="card_id")
        spec = OPERATOR_PAYLOADS[kind]
    elif kind in STORE_PAYLOADS:
        if card_id != DESKS_CARD:
            raise ValidationError(f"{kind} belongs to card_id {DESKS_CARD!r}", field="card_id")
        spec = STORE_PAYLOADS[kind]
    elif kind in INTAKE_PAYLOADS:
        spec = INTAKE_PAYLOADS[kind]
        home = next((c for prefix, c in _PSEUDO_HOME.items() if kind.startswith(prefix)), None)
        if home is not None and card_id != home:
            raise ValidationError(f"{kind} belongs to card_id {home!r}", field="card_id")
        if home is None:
            _card_id(card_id, "card_id", _NO_CONTEXT)
    else:
        found = CARD_PAYLOADS.get(kind)
        if found is None:
            raise ValidationError(f"unknown kind {kind[:40]!r}; upgrade the store or the desk",
                                  field="kind")
        spec = found
        _card_id(card_id, "card_id", _NO_CONTEXT)
    spec(payload, "payload", _Context(stamp_ms(hlc)))
