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

import re
from typing import Any

from app.errors import ValidationError
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

#: The audit trail of the rules (app/services/audit.py): a roster import and a changed
#: configuration file (policies, ladder, shifts, intake rules, roles, roster) found when the
#: desk starts, under the pseudo card AUDIT_CARD. Digests are SHA-256 of the file's bytes.
AUDIT_CARD = "audit"
_digest = line(64, empty=False)
_count = integer(0, 1_000_000)
AUDIT_PAYLOADS: dict[str, Obj] = {
    "roster.imported": Obj(
        {"by": _who, "digest": _digest, "contacts": _count, "rotations": _count,
         "overrides": _count},
        {"source": line(500), "groups": _count, "routes": _count, "summary": text(2000),
         "at": happened}),
    "config.changed": Obj(
        {"setting": line(40, empty=False), "file": line(500, empty=False), "digest": _digest},
        {"previous_digest": nullable(_digest), "by": line(120), "at": happened}),
}
CARD_PAYLOADS.update(AUDIT_PAYLOADS)
AUDIT_KINDS = frozenset(AUDIT_PAYLOADS)

#: The store's own facts about desks (app/store/desk_facts.py): a desk enrolled (again, with
#: a code bound to it) or revoked, written by the store as `store-<store_id>` under the pseudo
#: card DESKS_CARD and pulled by every desk, so `dispatch-desk audit` lists them anywhere.
#: Only entries whose desk id is the store's count (no desk may enrol with such an id).
DESKS_CARD = "desks"
_desk_id = line(40, empty=False)
STORE_PAYLOADS: dict[str, Obj] = {
    "store.desk_enrolled": Obj(
        {"desk_id": _desk_id, "name": line(120, empty=False), "desk_code": line(3, empty=False)},
        {"again": flag, "at": happened}),
    "store.desk_revoked": Obj(
        {"desk_id": _desk_id},
        {"name": line(120), "desk_code": line(3), "reason": line(300), "by": line(120),
         "at": happened}),
}
CARD_PAYLOADS.update(STORE_PAYLOADS)
STORE_KINDS = frozenset(STORE_PAYLOADS)

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


#: Operator accounts (app/protocol/accounts.py, app/services/operators): who may sign in at a
#: desk, with which roles, and their history, under the pseudo card OPERATORS_CARD; sign-in
#: facts under SIGNINS_CARD (the store reads every account entry on each push, and sign-ins
#: grow without end). A PIN is only ever an Argon2id hash in an entry.
OPERATORS_CARD = "operators"
SIGNINS_CARD = "signins"
#: An account id or login: lower case, so "JDoe" and "jdoe" are one person.
OPERATOR_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
ROLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ARGON2ID = re.compile(r"\$argon2id\$v=19\$m=\d{1,8},t=\d{1,4},p=\d{1,3}\$[A-Za-z0-9+/]{8,128}"
                       r"\$[A-Za-z0-9+/]{16,256}")


def _matching(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any, path: str, _: Any) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValidationError(f"{path} must be {what}", field=path.rsplit(".", 1)[-1])

    return check


_op_id = _matching(OPERATOR_ID, "1 to 40 lower-case letters, digits, '.', '_' or '-'")
_pin_hash = _matching(_ARGON2ID, "an Argon2id hash ($argon2id$v=19$...), never a PIN")
_roles = list_of(_matching(ROLE_NAME, "a role name such as shift_lead"), 20)
OPERATOR_PAYLOADS: dict[str, Obj] = {
    "operator.added": Obj({"id": _op_id, "login": _op_id, "name": line(120, empty=False),
                           "roles": _roles, "pin_hash": _pin_hash}, {"note": line(300)}),
    "operator.roles": Obj({"id": _op_id, "roles": _roles}, {"reason": line(300)}),
    "operator.disabled": Obj({"id": _op_id}, {"reason": line(300)}),
    "operator.enabled": Obj({"id": _op_id}, {"reason": line(300)}),
    "operator.pin_set": Obj({"id": _op_id, "pin_hash": _pin_hash}, {"reason": line(300)}),
    # what was typed as the login (it may be no account's), and why it failed
    "operator.signin_failed": Obj({"login": line(80, empty=False)},
                                  {"at": happened,
                                   "reason": one_of("wrong_pin", "unknown_login", "disabled")}),
    "operator.signed_in": Obj({"id": _op_id}, {"at": happened}),
    # A token for a script or a monitoring hook (app/protocol/tokens.py): it writes as the
    # actor TOKEN_PREFIX + name with exactly these rights; only its SHA-256 is in the entry.
    "operator.token_created": Obj(
        {"name": _op_id, "rights": list_of(_matching(ROLE_NAME, "a right such as "
                                                     "write_cards"), 20),
         "token_hash": _matching(re.compile(r"sha256:[0-9a-f]{64}"),
                                 "sha256: and 64 hex digits (the token's hash, never the "
                                 "token)")},
        {"expires_at": moment, "note": line(300)}),
    "operator.token_revoked": Obj({"name": _op_id}, {"reason": line(300)}),
}
SIGNIN_KINDS = frozenset({"operator.signin_failed", "operator.signed_in"})
TOKEN_KINDS = frozenset({"operator.token_created", "operator.token_revoked"})
#: Who an entry written with a token names: "token:" and the token's name.
TOKEN_PREFIX = "token:"
OPERATOR_KINDS = frozenset(OPERATOR_PAYLOADS)


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
