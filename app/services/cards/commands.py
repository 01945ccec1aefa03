"""The card command vocabulary: every write to a card, from every front end, as one object.

A dialog, the command bar, the intake form, a canned note, the offline banner and every
`dispatch-desk card ...` subcommand build one of these and hand it to `handle` (through the
desk object, `Desk.handle`); nothing else calls the card service to write. One command is one
CardService call, so one journal transaction, and its result is the card as it now stands.
The command bar's parser (`app.services.cards.command_bar`) produces the same objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.services.cards.card import Card, Operator
from app.services.cards.service import CardService
from app.services.messages.service import distribution_entries, eta_entry
from app.services.messages.templates import Templates
from app.services.messages.triggers import recipients_json, stakeholders


@dataclass(frozen=True)
class RegisterCard:
    intake: Mapping[str, Any]
    registered_at: datetime | None = None  # a handwritten time (a paper card entered late)


@dataclass(frozen=True)
class AttachReport:
    number: str
    reporter: str
    text: str


@dataclass(frozen=True)
class UpdateFields:
    number: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class SetStatus:
    number: str
    status: str
    reason: str = ""
    closure: Mapping[str, str] = field(default_factory=dict)
    confirmed_by: str = ""


@dataclass(frozen=True)
class ChangePriority:
    number: str
    priority: str
    reason: str
    evidence: str = ""


@dataclass(frozen=True)
class AddNote:
    number: str
    text: str


@dataclass(frozen=True)
class Assign:
    number: str
    assignee: str


@dataclass(frozen=True)
class Acknowledge:
    number: str
    who: str
    how: str = "phone"


@dataclass(frozen=True)
class Confirm:
    number: str


@dataclass(frozen=True)
class PostStatusMessage:
    """A status update in the fixed phrasing: written on the card (which resets the
    next-update clock) and sent by the outbox to the card's distribution list."""

    number: str
    text: str
    next_update_at: datetime | None = None


@dataclass(frozen=True)
class SendEta:
    """"A technician is on the way, ETA N minutes" to the card's customer, by SMS, in the
    words of the messages file (`templates`) for the card's kind of work."""

    number: str
    templates: Templates
    eta_minutes: int = 35


@dataclass(frozen=True)
class EditDistribution:
    """Add (name, address) pairs to the card's distribution list, or remove addresses."""

    number: str
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()


CardCommand = (RegisterCard | AttachReport | UpdateFields | SetStatus | ChangePriority
               | AddNote | Assign | Acknowledge | Confirm | PostStatusMessage | SendEta
               | EditDistribution)


def handle(command: CardCommand, cards: CardService, operator: Operator) -> Card:
    """Run one command: one CardService call, one journal transaction."""
    match command:
        case RegisterCard(intake, registered_at):
            return cards.register(intake, operator, registered_at=registered_at)
        case AttachReport(number, reporter, text):
            return cards.attach_report(number, reporter, text, operator)
        case UpdateFields(number, fields):
            return cards.update_fields(number, fields, operator)
        case SetStatus(number, status, reason, closure, confirmed_by):
            return cards.change_status(number, status, operator, reason=reason,
                                       closure=closure or None, confirmed_by=confirmed_by)
        case ChangePriority(number, priority, reason, evidence):
            return cards.change_priority(number, priority, reason, operator, evidence=evidence)
        case AddNote(number, text):
            return cards.add_note(number, text, operator)
        case Assign(number, assignee):
            return cards.update_fields(number, {"assignee": assignee.strip() or None}, operator)
        case Acknowledge(number, who, how):
            return cards.acknowledge(number, who, how, operator)
        case Confirm(number):
            return cards.confirm(number, operator)
        case PostStatusMessage(number, text, next_update_at):
            to = recipients_json(stakeholders(cards.timeline(number)))
            return cards.post_status_message(number, text, next_update_at, operator, to)
        case SendEta(number, templates, eta_minutes):
            card = cards.get(number)
            state = cards.journal.card(card.id)
            entry = eta_entry(state, cards.timeline(number), templates, eta_minutes,
                              cards.clock.now())
            return Card.from_state(cards.journal.write_card([entry], operator.name))
        case EditDistribution(number, add, remove):
            card = cards.get(number)
            entries = distribution_entries(card.id, add, remove)
            return Card.from_state(cards.journal.write_card(entries, operator.name))
    raise TypeError(f"not a card command: {command!r}")
