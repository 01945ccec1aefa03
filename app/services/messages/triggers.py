"""What each journal entry asks the outbox to send: the entries that queue it. Pure.

    card.registered, card.priority  the notification plan of the card's priority (a line
                                    already queued for this card and priority is not again)
    card.ack with eta_minutes       "a technician is on the way, ETA N minutes" to the
                                    card's callback number
    card.status_message with to     the status update to each recipient it names
    intake.received (sms, call)     the instant acknowledgement to the caller

Ids are facts of the cause (`fact_id`), so queuing twice writes once. A line with nobody
to go to is a ``message.unresolved`` fact on the card, so the gap is seen, not silent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.models.entry import Entry, NewEntry, fact_id
from app.models.projection import CardState
from app.services.messages.plan import (
    NotificationPlan,
    PlanLine,
    Recipient,
    distribution_list,
    resolve,
)
from app.services.messages.templates import Templates
from app.services.roster import Roster
from app.services.roster.contact import E164, normalise_phone

TRIGGER_KINDS = ("card.registered", "card.priority", "card.ack", "card.status_message",
                 "intake.received")
CALLBACK_FIELDS = ("q_contact", "onsite_contact", "reporter")
# A phone number as people write it in a contact field: "+49 (0)30 123-456".
_PHONE = re.compile(r"\+[0-9][0-9 ().\-/]{5,24}[0-9]")
_NAME_MAX = 120


@dataclass(frozen=True)
class Context:
    """What planning needs besides the entries: the files, the roster, the routing."""

    templates: Templates
    plan: NotificationPlan
    roster: Roster
    group_of: Callable[[CardState, datetime], str | None]


def is_store(desk_id: str) -> bool:
    return desk_id.startswith("store-")


def ladder_owner(card: CardState, entries: Iterable[Entry]) -> str:
    """The desk that runs the card's ladder: where it was registered, or who took it over."""
    owner = str(card.get("registered_desk") or "")
    for e in sorted(entries, key=lambda e: (e.hlc, e.id)):
        if e.kind == "ladder.taken_over":
            owner = str(e.payload["to"])
    return owner


def sender_of(trigger: Entry, card: CardState | None, entries: Iterable[Entry],
              intake_desk: bool) -> str | None:
    """The one desk that queues (and so sends) what `trigger` asks for; None: nobody here
    knows (a store-written item seen by a desk that is not the intake desk)."""
    if not is_store(trigger.desk_id):
        return trigger.desk_id
    if card is not None:
        return ladder_owner(card, entries)
    return "" if intake_desk else None  # "": this desk (the one with auto_register on)


def callback_of(card: CardState, item_entries: Iterable[Entry]) -> str | None:
    """The number to text the customer at: the caller's number of the intake item the card
    came from, else the first phone number written in the card's contact fields."""
    for e in item_entries:
        if e.kind == "intake.received" and E164.fullmatch(str(e.payload.get("callback") or "")):
            return str(e.payload["callback"])
    for name in CALLBACK_FIELDS:
        for found in _PHONE.findall(str(card.get(name) or "")):
            number = normalise_phone(found)
            if E164.fullmatch(number):
                return number
    return None


def _queued(card_id: str, key: str, kind: str, r: Recipient, body: str, trigger: Entry,
            ttl: timedelta, *, subject: str = "", role: str = "",
            due_by: datetime | None = None, template: str = "") -> NewEntry:
    payload: dict[str, Any] = {
        "type": kind, "channel": r.channel, "to": r.to, "name": r.name[:_NAME_MAX],
        "body": body, "expires_at": (trigger.at + ttl).isoformat(), "trigger": trigger.id}
    if subject:
        payload["subject"] = subject[:200]
    if role:
        payload["role"] = role[:80]
    if due_by is not None:
        payload["due_by"] = due_by.isoformat()
    if template:
        payload["template"] = template
    return NewEntry(card_id, "message.queued", payload, id=fact_id(key))


def _unresolved(card_id: str, key: str, kind: str, who: str, reason: str,
                trigger: Entry) -> NewEntry:
    return NewEntry(card_id, "message.unresolved",
                    {"type": kind, "who": who[:_NAME_MAX], "reason": reason[:500],
                     "trigger": trigger.id, "at": trigger.at.isoformat()},
                    id=fact_id(key + ":unresolved"))


def _values(card: CardState) -> dict[str, str]:
    return {"number": str(card.get("number") or ""), "priority": str(card.get("priority")),
            "site": str(card.get("site") or ""), "symptom": str(card.get("symptom") or ""),
            "category": str(card.get("category") or "")}


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes else f"{int(delta.total_seconds())} s"


def plan_notices(trigger: Entry, card: CardState, entries: Iterable[Entry], ctx: Context
                 ) -> list[NewEntry]:
    """The notification plan of the priority `trigger` gives the card."""
    entries = list(entries)
    prio = str(trigger.payload.get("priority") or card["priority"])
    if trigger.kind == "card.priority" and not _raised(trigger, prio, entries):
        return []  # lowered, or back to a priority it had: its people were told then
    at = trigger.at
    distribution = distribution_list(entries)
    out: list[NewEntry] = []
    for line in ctx.plan.for_priority(prio):
        if not line.applies(card):
            continue
        key = f"msg:{card['id']}:notice:{prio}:{line.index}"
        found, reason = resolve(line, card, at, ctx.roster, ctx.group_of, distribution)
        if not found:
            out.append(_unresolved(card["id"], key, "notice", line.who, reason, trigger))
            continue
        out += [_notice(card, line, r, trigger, key, ctx.templates) for r in found]
    return out


def _raised(trigger: Entry, prio: str, entries: Iterable[Entry]) -> bool:
    """Whether `trigger` raises the card above every priority it had before."""
    mark = (trigger.hlc, trigger.id)
    before = [str(e.payload.get("priority")) for e in entries
              if e.kind in ("card.registered", "card.priority") and (e.hlc, e.id) < mark]
    return all(prio < p for p in before)  # "P1" < "P2": a lower number is higher


def _notice(card: CardState, line: PlanLine, r: Recipient, trigger: Entry, key: str,
            templates: Templates) -> NewEntry:
    values = {**_values(card), "who": line.who, "within": _minutes(line.within)}
    body = templates.notice_sms.format(**values)
    subject = templates.notice_subject.format(**values) if r.channel == "email" else ""
    return _queued(card["id"], f"{key}:{r.to}:{r.channel}", "notice", r, body, trigger,
                   templates.ttl_of("notice"), subject=subject, role=line.who,
                   due_by=trigger.at + line.within)


def customer_eta(trigger: Entry, card: CardState, callback: str | None,
                 templates: Templates, eta: int | None = None) -> list[NewEntry]:
    """The "on the way" text an acceptance with an ETA asks for."""
    minutes = eta if eta is not None else trigger.payload.get("eta_minutes")
    if minutes is None:
        return []
    key = f"msg:{trigger.id}:eta"
    if callback is None:
        return [_unresolved(card["id"], key, "customer", "customer",
                            "no callback number on the card (the caller's number, or a phone "
                            "number in the contact field); phone the customer", trigger)]
    kind = str(card.get("kind_of_work") or "")
    body = templates.customer_text("eta", kind, eta=minutes, number=card.get("number") or "",
                                   site=card.get("site") or "")
    return [_queued(card["id"], key, "customer", Recipient("customer", callback, "sms"),
                    body, trigger, templates.ttl_of("customer"),
                    template=f"eta.{kind or 'default'}")]


def customer_ack(trigger: Entry, templates: Templates) -> list[NewEntry]:
    """The instant acknowledgement of a text or call to the emergency line (its first
    `intake.received`; a repeat is not answered again)."""
    p = trigger.payload
    number = str(p.get("callback") or "")
    if p.get("channel") not in ("sms", "call") or not E164.fullmatch(number):
        return []
    kind = str(p.get("kind_of_work") or "")
    channel = "call" if p.get("channel") == "call" else "message"
    body = templates.customer_text("acknowledge", kind, ref=trigger.card_id[:8].upper(),
                                   site=p.get("site") or "", channel=channel)
    return [_queued(trigger.card_id, f"msg:{trigger.card_id}:ack:{number}", "customer",
                    Recipient("caller", number, "sms"), body, trigger,
                    templates.ttl_of("customer"), template=f"acknowledge.{kind or 'default'}")]


def status_updates(trigger: Entry, card: CardState, templates: Templates) -> list[NewEntry]:
    """The status message to each recipient it names (its `to`, the distribution list)."""
    values = {**_values(card), "text": str(trigger.payload["text"])}
    out = []
    for raw in trigger.payload.get("to") or []:
        r = Recipient(str(raw.get("name") or raw["to"]), str(raw["to"]), str(raw["channel"]))
        body = values["text"] if r.channel == "email" else templates.status_sms.format(**values)
        subject = templates.status_subject.format(**values) if r.channel == "email" else ""
        out.append(_queued(card["id"], f"msg:{trigger.id}:{r.to}:{r.channel}", "status", r,
                           body, trigger, templates.ttl_of("status"), subject=subject))
    return out


def recipients_json(found: Iterable[Recipient]) -> list[dict[str, str]]:
    return [{"to": r.to, "channel": r.channel, "name": r.name[:_NAME_MAX]} for r in found]


def stakeholders(entries: Iterable[Entry]) -> list[Recipient]:
    """Whom a status update goes to: everyone the notification plan told about the card,
    then the card's own distribution list, by address and channel; an address whose last
    distribution change removed it is left out."""
    ordered = sorted(entries, key=lambda e: (e.hlc, e.id))
    last_op = {str(e.payload["to"]): str(e.payload["op"]) for e in ordered
               if e.kind == "card.distribution"}
    seen: dict[tuple[str, str], Recipient] = {}
    for e in ordered:
        p = e.payload
        if e.kind == "message.queued" and p.get("type") == "notice":
            seen.setdefault((str(p["to"]), str(p["channel"])),
                            Recipient(str(p.get("name") or p["to"]), str(p["to"]),
                                      str(p["channel"])))
    for r in distribution_list(ordered):
        seen.setdefault((r.to, r.channel), r)
    return [r for r in seen.values() if last_op.get(r.to) != "remove"]


def wanted(trigger: Entry, card: CardState | None, entries: list[Entry],
           item_entries: Mapping[str, list[Entry]], ctx: Context) -> list[NewEntry]:
    """Everything `trigger` asks the outbox to queue (the caller decided it is the sender)."""
    kind = trigger.kind
    if kind == "intake.received":
        return customer_ack(trigger, ctx.templates)
    if card is None:
        return []
    if kind in ("card.registered", "card.priority"):
        return plan_notices(trigger, card, entries, ctx)
    if kind == "card.ack":
        items = [e for es in item_entries.values() for e in es]
        return customer_eta(trigger, card, callback_of(card, items), ctx.templates)
    if kind == "card.status_message":
        return status_updates(trigger, card, ctx.templates)
    return []

