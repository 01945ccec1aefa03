"""What a person does with messages: send the customer the ETA, edit a card's distribution
list, cancel a waiting message, confirm a stale one. Each is one journal transaction; the
outbox worker of the desk that queued a message sends it (`app/runtime/message_worker.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from app.errors import TransitionError, ValidationError
from app.models.entry import Entry, NewEntry
from app.models.projection import CardState
from app.protocol.text import text_problem
from app.services.cards.customer_message import on_call_acceptance
from app.services.messages import outbox as ob
from app.services.messages.outbox import Message
from app.services.messages.plan import address_channel
from app.services.messages.templates import Templates
from app.services.messages.triggers import callback_of


def eta_entry(card: CardState, entries: Iterable[Entry], templates: Templates,
              eta_minutes: int, now: datetime) -> NewEntry:
    """The dispatcher's "Send ETA to customer": the text to the card's callback number,
    refused before an on-call person accepted and without a number to send it to."""
    entries = list(entries)
    if on_call_acceptance(entries) is None:
        raise ValidationError("nobody on call has accepted this card yet: send the ETA once "
                              "a technician acknowledges (SMS, call, or reached by phone)",
                              field="acknowledged_by")
    if isinstance(eta_minutes, bool) or not isinstance(eta_minutes, int) \
            or not 1 <= eta_minutes <= 24 * 60:
        raise ValidationError("the ETA must be whole minutes, 1 to 1440", field="eta_minutes")
    to = callback_of(card, [])
    if to is None:
        raise ValidationError(f"card {card['number']} has no customer number: write it in "
                              "the contact field (q_contact) as +4930123456, then send again",
                              field="q_contact")
    kind = str(card.get("kind_of_work") or "")
    body = templates.customer_text("eta", kind, eta=eta_minutes, number=card["number"],
                                   site=card.get("site") or "")
    return NewEntry(card["id"], "message.queued", {
        "type": "customer", "channel": "sms", "to": to, "name": "customer", "body": body,
        "expires_at": (now + templates.ttl_of("customer")).isoformat(),
        "template": f"eta.{kind or 'default'}"}, id=str(uuid.uuid4()))


def distribution_entries(card_id: str, add: Sequence[tuple[str, str]],
                         remove: Sequence[str]) -> list[NewEntry]:
    """`card.distribution` entries: add (name, address) pairs, remove addresses."""
    if not add and not remove:
        raise ValidationError("give an address to add or remove", field="add")
    out = []
    for name, address in add:
        address = address.strip()
        channel = address_channel(address)
        if channel is None:
            raise ValidationError(f"{address[:60]!r} is neither an E.164 number "
                                  "(+4930123456) nor an e-mail address", field="add")
        name = " ".join(name.split()) or address
        if problem := text_problem(name):
            raise ValidationError(f"name {problem}", field="name")
        out.append(NewEntry(card_id, "card.distribution", {
            "op": "add", "to": address, "name": name[:120], "channel": channel}))
    for address in remove:
        out.append(NewEntry(card_id, "card.distribution", {"op": "remove",
                                                             "to": address.strip()}))
    return out


def find(msgs: Iterable[Message], ref: str) -> Message:
    """A message by its id or the id's first characters (at least 4)."""
    ref = ref.strip().lower()
    found = [m for m in msgs if m.id == ref or (len(ref) >= 4 and m.id.startswith(ref))]
    if len(found) != 1:
        raise ValidationError(f"{'no' if not found else 'more than one'} message {ref!r}; "
                              "give more of its id (dispatch-desk outbox list)", field="id")
    return found[0]


def cancel(m: Message, reason: str, by: str, now: datetime) -> NewEntry:
    if m.read_only:
        raise TransitionError("a page belongs to the ladder: hold the ladder or acknowledge "
                              "the card instead")
    if m.state(now) not in (*ob.WAITING, ob.STALE, ob.FAILED):
        raise TransitionError(f"the message to {m.name} is {m.state(now)}; nothing to cancel")
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError("say why it is cancelled", field="reason")
    return ob.cancelled_entry(m, reason[:500], by, now)


def confirm(m: Message, by: str, now: datetime, templates: Templates) -> NewEntry:
    if m.read_only:
        raise TransitionError("a page belongs to the ladder and is not confirmed here")
    state = m.state(now)
    if state not in ob.CONFIRMABLE:
        raise TransitionError(f"the message to {m.name} is {state}: only a stale or failed "
                              "message is confirmed to be sent")
    return ob.confirmed_entry(m, by, now, templates.ttl_of(m.type))


def card_messages(msgs: Iterable[Message], card_id: str) -> list[Message]:
    return sorted((m for m in msgs if m.card_id == card_id), key=lambda m: m.queued_at)


def delivery_line(m: Message, now: datetime) -> str:
    """One line a person reads: "SMS to Maria Keller (shift lead) +44...: sent 02:10:05"."""
    state = m.state(now)
    what = {"sms": "SMS", "email": "e-mail", "voice": "call"}.get(m.channel, m.channel)
    detail = state
    if state == ob.SENT and m.via == "page":
        detail = "told by the ladder's page"
    elif state == ob.SENT and m.late:
        detail = "sent LATE"
    elif state in (ob.RETRYING, ob.FAILED) and m.error:
        detail = f"{state}: {m.error}"
    elif state == ob.STALE:
        detail = "STALE, not sent: confirm to send"
    return f"{what} to {m.name} {m.to}: {detail}"
