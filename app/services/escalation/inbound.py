"""What comes back from the people paged, turned into journal entries.

Two roads lead here and both end in the same functions: the desk polls Twilio's REST API for
SMS replies and call results (works behind NAT), and the central store, when it has a public
address, receives Twilio's webhooks (``entries_from_webhook``; check the request first with
``verify_twilio_signature``). Pure: no network, no clock; the caller writes the entries.

What counts as an acknowledgement: an SMS reply ``1`` (the newest open page to that number) or
the reply code of a page (that card), and a ``1`` pressed in the call. A delivered SMS, an
answered call without the key, and a call taken by voicemail are recorded, never acknowledged.
STOP and START (Twilio's opt-out words) are recorded against the number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from twilio.request_validator import RequestValidator

from app.errors import ValidationError
from app.models.entry import Entry, NewEntry, fact_id
from app.models.projection import IN_PROGRESS, REGISTERED, CardState
from app.services.escalation.state import LadderState

# Twilio's own opt-out and opt-in keywords (Advanced Opt-Out defaults).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
                        "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "OPTIN"})
# STOP/START are about a phone number, not a card: they live on this pseudo card (a UUID, so
# the store accepts it like any card id) and never make a card row.
PAGER_CARD = fact_id("pager:opt-out")
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
                min(c.sent_at for c in sent if c.sent_at is not None)))
    return pages


def _ack(page: OpenPage, sid: str, how: str, at: datetime, key: str) -> NewEntry:
    payload = {"who": page.who, "how": how, "sid": sid, "at": at.isoformat(),
               "tier": page.tier, "attempt": page.attempt, "number": page.to}
    return NewEntry(page.card_id, "card.ack", payload, id=fact_id(key))


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


def entries_for_reply(sid: str, from_number: str, body: str, received_at: datetime,
                      pages: Sequence[OpenPage]) -> list[NewEntry]:
    """Entries for one inbound SMS: an ack, a STOP/START, or a reply shown on the card."""
    if not _E164.match(from_number or ""):
        raise ValidationError(f"From {from_number!r} is not an E.164 number", field="From")
    words = re.findall(r"[A-Za-z0-9]+", body.upper())
    at = received_at.isoformat()
    if words and (words[0] in STOP_WORDS or words[0] in START_WORDS):
        kind = "pager.stop" if words[0] in STOP_WORDS else "pager.start"
        payload = {"number": from_number, "word": words[0], "sid": sid, "at": at}
        return [NewEntry(PAGER_CARD, kind, payload, id=fact_id(f"inbound:{sid}"))]
    mine = sorted((p for p in pages if p.to == from_number), key=lambda p: p.sent_at)
    if not mine:
        return []  # nobody paged this number: nothing on any card to attach it to
    by_code = [p for p in mine if p.code is not None and p.code in words]
    if by_code:
        return [_ack(by_code[-1], sid, "sms", received_at, f"inbound:{sid}")]
    if words[:1] == ["1"]:
        return [_ack(mine[-1], sid, "sms", received_at, f"inbound:{sid}")]
    payload = {"from": from_number, "body": body[:500], "sid": sid, "at": at,
               "tier": mine[-1].tier, "attempt": mine[-1].attempt}
    return [NewEntry(mine[-1].card_id, "ladder.reply", payload, id=fact_id(f"inbound:{sid}"))]


def entries_for_call(call_sid: str, outcome: str, pages: Sequence[OpenPage],
                     at: datetime) -> list[NewEntry]:
    """Entries for how a voice page ended; only ``acknowledged`` (pressed 1) is an ack."""
    page = next((p for p in pages if p.call_sid == call_sid), None)
    if page is None:
        return []
    result = {"tier": page.tier, "attempt": page.attempt, "channel": "voice", "to": page.to,
              "sid": call_sid, "outcome": outcome, "at": at.isoformat()}
    out = [NewEntry(page.card_id, "ladder.call_result", result,
                    id=fact_id(f"inbound:{call_sid}:{outcome}"))]
    if outcome == "acknowledged":
        out.append(_ack(page, call_sid, "voice", at, f"inbound:{call_sid}:ack"))
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
    if "Digits" in form:
        call_sid = _field(form, "CallSid", _SID)
        digits = str(form.get("Digits") or "").strip()
        outcome = "acknowledged" if digits == "1" else f"pressed {digits or 'nothing'}"
        return entries_for_call(call_sid, outcome, pages, received_at)
    if "CallStatus" in form:
        call_sid = _field(form, "CallSid", _SID)
        status = _field(form, "CallStatus")
        if status in ("queued", "initiated", "ringing", "in-progress"):
            return []  # not over yet: nothing to put on the card
        return entries_for_call(call_sid, call_outcome_from_status(
            status, str(form.get("AnsweredBy") or "")), pages, received_at)
    if "Body" in form:
        sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        if not _SID.match(sid):
            raise ValidationError("webhook field MessageSid is missing or malformed",
                                  field="MessageSid")
        return entries_for_reply(sid, _field(form, "From"), str(form["Body"]), received_at,
                                 pages)
    raise ValidationError("the webhook is neither an SMS reply (Body), a key press (Digits) "
                          "nor a call status (CallStatus)", field="Body")


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
