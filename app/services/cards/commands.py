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
    number: str
    text: str
    next_update_at: datetime | None = None


CardCommand = (RegisterCard | AttachReport | UpdateFields | SetStatus | ChangePriority
               | AddNote | Assign | Acknowledge | Confirm | PostStatusMessage)


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
            return cards.post_status_message(number, text, next_update_at, operator)
    raise TypeError(f"not a card command: {command!r}")
