"""What comes back from the people paged, turned into journal entries.

Two roads lead here and both end in the same functions: the desk polls Twilio's REST API for
SMS replies and call results (works behind NAT), and the central store, when it has a public
address, receives Twilio's webhooks (``entries_from_webhook``; check the request first with
``verify_twilio_signature``). Pure: no network, no clock; the caller writes the entries.

What a reply means is `reply_codes.parse`: ``<code> a`` (acknowledge), ``<code> a 35``
(accepted, on the way, ETA 35 min: ``card.ack`` with ``eta_minutes``), ``<code> e`` (escalate
now: ``ladder.escalate``), ``<code> d [why]`` (decline: ``ladder.declined``), and the old ``1``.
In a call the keys are 4 (or 1) acknowledge, 5 escalate, 6 decline (`app.protocol.voice_keys`).
A delivered SMS, an answered call without a key, and a call taken by voicemail are recorded,
never acknowledged. STOP and START (Twilio's opt-out words) are recorded against the number.
An acknowledgement by the paged person carries its consequences in the same write: the person
becomes the assignee and a registered card goes In progress (`followups`). Anything that is
not a command gets one short help reply (`Answer.reply`), limited per number.

Every id comes from the provider's event (``inbound:{MessageSid}``, ``inbound:{CallSid}:...``)
and every payload from the event and the page it answers, so each desk and the store that
records one event write the same fact; the store keeps the first copy and a desk whose copy
differs takes the store's at its next pull (`app/models/remote.py`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twilio.request_validator import RequestValidator

from app.errors import ValidationError
from app.models.entry import Entry, NewEntry, fact_id
from app.models.projection import IN_PROGRESS, REGISTERED, CardState
from app.protocol.voice_keys import ACKNOWLEDGED, DECLINED, ESCALATED, outcome_for_digits
from app.services.escalation import reply_codes
from app.services.escalation.reply_codes import DECLINE, ESCALATE, Command
from app.services.escalation.state import LadderState
from app.services.roster.verification import VERIFY_CARD, PendingCheck, match_reply, pending

# Twilio's own opt-out and opt-in keywords (Advanced Opt-Out defaults).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
                        "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "OPTIN"})
# STOP/START are about a phone number, not a card: they live on this pseudo card (a UUID, so
# the store accepts it like any card id) and never make a card row.
PAGER_CARD = fact_id("pager:opt-out")
__all__ = ["PAGER_CARD", "VERIFY_CARD"]  # VERIFY_CARD: re-exported for the store
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def reply_code(card_id: str, contact_id: str) -> str:
    """A 4-digit code for one person and one card, the same on every desk; never "1"."""
    digest = hashlib.sha256(f"{card_id}:{contact_id}".encode()).digest()
    return str(1000 + int.from_bytes(digest[:4], "big") % 9000)


@dataclass(frozen=True)
class OpenPage:
    """A page still waiting for an answer: what a reply or a call result is matched to."""

    card_id: str
    card_number: str
    tier: int
    attempt: int
    who: str
    to: str
    code: str | None
    sms_sid: str | None
    call_sid: str | None
    sent_at: datetime
    contact_id: str | None = None
    call_outcome: str | None = None  # how its call ended, when that is known


def open_pages(states: Iterable[LadderState]) -> list[OpenPage]:
    pages: list[OpenPage] = []
    for s in states:
        for step in s.steps:
            sms, voice = step.channels.get("sms"), step.channels.get("voice")
            sent = [c for c in (sms, voice) if c is not None and c.sent_at is not None]
            if not sent or step.who is None:
                continue
            pages.append(OpenPage(
                s.card_id, s.number, step.tier, step.attempt, step.who, str(sent[0].to),
                step.code, sms.sid if sms else None, voice.sid if voice else None,
                min(c.sent_at for c in sent if c.sent_at is not None), step.contact_id,
                voice.outcome if voice else None))
    return pages


def _ack(page: OpenPage, sid: str, how: str, at: datetime, key: str,
         eta: int | None = None) -> NewEntry:
    payload: dict[str, Any] = {"who": page.who, "how": how, "sid": sid, "at": at.isoformat(),
                               "tier": page.tier, "attempt": page.attempt, "number": page.to}
    if page.contact_id:
        payload["contact_id"] = page.contact_id
    if eta is not None:
        payload["eta_minutes"] = eta
    return NewEntry(page.card_id, "card.ack", payload, id=fact_id(key))


def _escalate(page: OpenPage, sid: str, how: str, at: datetime, key: str,
              reason: str = "") -> NewEntry:
    payload: dict[str, Any] = {"by": page.who, "tier": page.tier, "attempt": page.attempt,
                               "how": how, "sid": sid, "at": at.isoformat()}
    if reason:
        payload["reason"] = reason
    return NewEntry(page.card_id, "ladder.escalate", payload, id=fact_id(key))


def _decline(page: OpenPage, sid: str, how: str, at: datetime, key: str,
             reason: str = "") -> NewEntry:
    payload: dict[str, Any] = {"tier": page.tier, "attempt": page.attempt, "to": page.to,
                               "who": page.who, "how": how, "sid": sid, "at": at.isoformat()}
    if page.contact_id:
        payload["contact_id"] = page.contact_id
    if reason:
        payload["reason"] = reason
    return NewEntry(page.card_id, "ladder.declined", payload, id=fact_id(key))


def followups(ack: NewEntry, card: CardState | None) -> list[NewEntry]:
    """The assignee and In progress entries of a first acknowledgement by a paged person,
    written next to it: the same ids and payloads `entries_for_ack` derives from the ack
    later (so a desk settling it again writes nothing new)."""
    if card is None or card.get("acknowledged_at") or ack.id is None:
        return []
    who, how = str(ack.payload["who"]), str(ack.payload["how"])
    at = str(ack.payload.get("at"))
    out: list[NewEntry] = []
    if card.get("assignee") != who:
        out.append(NewEntry(card["id"], "card.fields", {"fields": {"assignee": who}},
                            id=fact_id(f"ack:{ack.id}:assignee")))
    if card.get("status") == REGISTERED:
        out.append(NewEntry(card["id"], "card.status", {
            "status": IN_PROGRESS, "from": REGISTERED, "at": at,
            "reason": f"acknowledged by {who} ({how})"},
            id=fact_id(f"ack:{ack.id}:in_progress")))
    return out


def entries_for_ack(card: CardState, entries: Iterable[Entry]) -> list[NewEntry]:
    """What a paged person's acknowledgement does to the card, as the usual entries: that
    person becomes the assignee, and a registered card goes In progress (the issue: an
    acknowledgement is "I own it"; DOMAIN's reaction clock stops at the same moment).

    Only the first acknowledgement counts (the projection's ``acknowledged_by``), and only
    when it names someone the ladder paged (by name or contact id): "reached by phone" for a
    person the ladder never paged leaves the assignee to the dispatcher. Ids come from the
    ack's id, so a repeat (a restart, a second desk) writes nothing new, and a later manual
    change of the assignee is never overwritten.
    """
    ordered = sorted(entries, key=lambda e: (e.hlc, e.id))
    ack = next((e for e in ordered if e.kind == "card.ack"), None)
    if ack is None:
        return []
    who = str(ack.payload.get("who") or "").strip().casefold()
    paged = next((str(e.payload["who"]) for e in ordered if e.kind == "ladder.step"
                  and e.payload.get("who") and who in (
                      str(e.payload["who"]).casefold(),
                      str(e.payload.get("contact_id") or "").casefold())), None)
    if paged is None:
        return []
    at = str(ack.payload.get("at") or ack.at.isoformat())
    how = str(ack.payload.get("how") or "?")
    out: list[NewEntry] = []
    if card.get("assignee") != paged:
        out.append(NewEntry(card["id"], "card.fields", {"fields": {"assignee": paged}},
                            id=fact_id(f"ack:{ack.id}:assignee")))
    if card.get("status") == REGISTERED:
        out.append(NewEntry(card["id"], "card.status", {
            "status": IN_PROGRESS, "from": REGISTERED, "at": at,
            "reason": f"acknowledged by {paged} ({how})"},
            id=fact_id(f"ack:{ack.id}:in_progress")))
    return out


@dataclass(frozen=True)
class Answer:
    """What one inbound SMS comes to: its entries, and the help text to send back (if any;
    its ``pager.help`` entry is among the entries, so it is sent once)."""

    entries: list[NewEntry] = field(default_factory=list)
    reply: str = ""


CardLookup = Callable[[str], CardState | None]


def _no_card(_: str) -> CardState | None:
    return None


def answer_reply(sid: str, from_number: str, body: str, received_at: datetime,
                 pages: Sequence[OpenPage], *, helped: Mapping[str, datetime] | None = None,
                 checks: Sequence[PendingCheck] = (),
                 card: CardLookup = _no_card) -> Answer:
    """One inbound SMS as entries: a command on a page, a STOP/START, a verification code, or
    a reply shown on the card (with one help reply when it was no command). Nothing when the
    number was never paged nor asked to verify (the phone line takes it as an emergency)."""
    if not _E164.match(from_number or ""):
        raise ValidationError(f"From {from_number!r} is not an E.164 number", field="From")
    words = re.findall(r"[A-Za-z0-9]+", body.upper())
    at = received_at.isoformat()
    key = f"inbound:{sid}"
    if words and (words[0] in STOP_WORDS or words[0] in START_WORDS):
        kind = "pager.stop" if words[0] in STOP_WORDS else "pager.start"
        payload = {"number": from_number, "word": words[0], "sid": sid, "at": at}
        return Answer([NewEntry(PAGER_CARD, kind, payload, id=fact_id(key))])
    mine = sorted((p for p in pages if p.to == from_number), key=lambda p: p.sent_at)
    verified = match_reply(sid, from_number, body, received_at, checks)
    if verified is not None:
        return Answer([verified])
    if not mine:
        return Answer()  # nobody paged this number: nothing on any card to attach it to
    said = reply_codes.parse(body)
    if isinstance(said, Command):
        page = mine[-1] if said.code is None else next(
            (p for p in reversed(mine) if p.code == said.code), None)
        if page is not None:
            return Answer(_command(said, page, sid, received_at, key, card))
        said = reply_codes.Unclear(said.code, f"Code {said.code} is not one of your pages.")
    newest = mine[-1]
    payload = {"from": from_number, "body": body[:500], "sid": sid, "at": at,
               "tier": newest.tier, "attempt": newest.attempt}
    out = [NewEntry(newest.card_id, "ladder.reply", payload, id=fact_id(key))]
    if not reply_codes.help_due(from_number, received_at, helped or {}):
        return Answer(out)
    problem = said.problem if said is not None else ""
    help_payload: dict[str, Any] = {"number": from_number, "sid": sid, "code": newest.code,
                                    "at": at}
    if problem:
        help_payload["problem"] = problem[:200]
    out.append(NewEntry(PAGER_CARD, "pager.help", help_payload, id=fact_id(f"{key}:help")))
    return Answer(out, reply_codes.help_text(newest.code, problem))


def _command(said: Command, page: OpenPage, sid: str, at: datetime, key: str,
             card: CardLookup) -> list[NewEntry]:
    if said.action == ESCALATE:
        return [_escalate(page, sid, "sms", at, key, said.reason)]
    if said.action == DECLINE:
        return [_decline(page, sid, "sms", at, key, said.reason)]
    ack = _ack(page, sid, "sms", at, key, said.eta_minutes)
    return [ack, *followups(ack, card(page.card_id))]


def entries_for_reply(sid: str, from_number: str, body: str, received_at: datetime,
                      pages: Sequence[OpenPage]) -> list[NewEntry]:
    """Entries for one inbound SMS (`answer_reply` without help limits or verifications)."""
    return answer_reply(sid, from_number, body, received_at, pages).entries


def entries_for_call(call_sid: str, outcome: str, pages: Sequence[OpenPage],
                     at: datetime, card: CardLookup = _no_card) -> list[NewEntry]:
    """Entries for how a voice page ended. A key pressed is ``acknowledged`` (4 or 1),
    ``escalated`` (5) or ``declined`` (6): a command, like the SMS reply codes. Once a key
    was recorded, the call's end ("completed") adds nothing: the key was its result."""
    page = next((p for p in pages if p.call_sid == call_sid), None)
    if page is None:
        return []
    keyed = outcome in (ACKNOWLEDGED, ESCALATED, DECLINED)
    if not keyed and page.call_outcome in (ACKNOWLEDGED, ESCALATED, DECLINED):
        return []
    result = {"tier": page.tier, "attempt": page.attempt, "channel": "voice", "to": page.to,
              "sid": call_sid, "outcome": outcome, "at": at.isoformat()}
    out = [NewEntry(page.card_id, "ladder.call_result", result,
                    id=fact_id(f"inbound:{call_sid}:{outcome}"))]
    key = f"inbound:{call_sid}:key"
    if outcome == ACKNOWLEDGED:
        ack = _ack(page, call_sid, "voice", at, f"inbound:{call_sid}:ack")
        out += [ack, *followups(ack, card(page.card_id))]
    elif outcome == ESCALATED:
        out.append(_escalate(page, call_sid, "voice", at, key, "pressed 5 in the call"))
    elif outcome == DECLINED:
        out.append(_decline(page, call_sid, "voice", at, key, "pressed 6 in the call"))
    return out


def _field(form: Mapping[str, str], name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = str(form.get(name) or "")
    if not value or (pattern is not None and not pattern.match(value)):
        raise ValidationError(f"webhook field {name} is missing or malformed ({value[:40]!r}); "
                              "is the webhook URL pointed at the right endpoint?", field=name)
    return value


def call_outcome_from_status(status: str, answered_by: str = "") -> str:
    """Twilio's CallStatus and AnsweredBy as an outcome; a machine is always "voicemail"."""
    if answered_by.lower().startswith("machine") or answered_by.lower() == "fax":
        return "voicemail"
    return {"completed": "no-answer", "canceled": "no-answer"}.get(status, status)


def entries_from_webhook(form: Mapping[str, str], pages: Sequence[OpenPage],
                         received_at: datetime) -> list[NewEntry]:
    """A webhook's form fields -- an SMS reply, Gather digits, or a call status callback --
    as journal entries. Raises ValidationError naming the field when the form is not one."""
    return answer_webhook(form, pages, received_at).entries


def answer_with_history(form: Mapping[str, str], pages: Sequence[OpenPage],
                        received_at: datetime, pager_entries: Iterable[Entry],
                        verify_entries: Iterable[Entry],
                        card: CardLookup = _no_card) -> Answer:
    """`answer_webhook` given the entries of the pager's and the verifications' pseudo cards
    (``PAGER_CARD``, ``VERIFY_CARD``): the help limit and the codes out follow from them."""
    return answer_webhook(form, pages, received_at,
                          helped=reply_codes.last_help(pager_entries),
                          checks=pending(verify_entries, received_at), card=card)


def answer_webhook(form: Mapping[str, str], pages: Sequence[OpenPage], received_at: datetime,
                   *, helped: Mapping[str, datetime] | None = None,
                   checks: Sequence[PendingCheck] = (),
                   card: CardLookup = _no_card) -> Answer:
    """`entries_from_webhook` with the help reply, verifications and follow-ups."""
    if "Digits" in form or "CallStatus" in form:
        return Answer(_call_webhook(form, pages, received_at, card))
    if "MessageStatus" in form and "Body" not in form:
        # A delivery receipt (an SMS's status callback): nothing a paged person said. The
        # outbox reads its own messages' receipts; a page's is not a fact of its ladder.
        _field(form, "MessageSid", _SID)
        return Answer()
    if "Body" in form:
        sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        if not _SID.match(sid):
            raise ValidationError("webhook field MessageSid is missing or malformed",
                                  field="MessageSid")
        return answer_reply(sid, _field(form, "From"), str(form["Body"]), received_at, pages,
                            helped=helped, checks=checks, card=card)
    raise ValidationError("the webhook is neither an SMS reply (Body), a key press (Digits) "
                          "nor a call status (CallStatus)", field="Body")


def _call_webhook(form: Mapping[str, str], pages: Sequence[OpenPage], received_at: datetime,
                  card: CardLookup) -> list[NewEntry]:
    call_sid = _field(form, "CallSid", _SID)
    if "Digits" in form:
        outcome = outcome_for_digits(str(form.get("Digits") or ""))
        return entries_for_call(call_sid, outcome, pages, received_at, card)
    status = _field(form, "CallStatus")
    if status in ("queued", "initiated", "ringing", "in-progress"):
        return []  # not over yet: nothing to put on the card
    return entries_for_call(call_sid, call_outcome_from_status(
        status, str(form.get("AnsweredBy") or "")), pages, received_at, card)


def verify_twilio_signature(url: str, params: Mapping[str, str], signature: str,
                            token: str) -> bool:
    """True when ``signature`` (the X-Twilio-Signature header) is Twilio's for this exact URL
    and these POST parameters; the library compares in constant time."""
    if not token:
        raise ValidationError("the Twilio auth token is not set; store it in the keyring",
                              field="token")
    if not signature:
        return False
    return bool(RequestValidator(token).validate(url, dict(params), signature))
