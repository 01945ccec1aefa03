"""The triage tray's command vocabulary: accept an item into a card, attach it to one, or
dismiss it with a reason, from the tray, the intake form and `dispatch-desk intake` alike,
handled through `Desk.handle`. One command is one IntakeService call, one journal transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.services.cards.card import Card, Operator
from app.services.intake.service import IntakeService


@dataclass(frozen=True)
class AcceptItem:
    item_id: str
    intake: Mapping[str, Any] = field(default_factory=dict)  # the completed intake form


@dataclass(frozen=True)
class AttachItem:
    item_id: str
    number: str


@dataclass(frozen=True)
class DismissItem:
    item_id: str
    reason: str


IntakeCommand = AcceptItem | AttachItem | DismissItem


def handle_intake(command: IntakeCommand, service: IntakeService,
                  operator: Operator) -> Card | None:
    """Run one tray command: the card the item became or joined; None for a dismissal."""
    match command:
        case AcceptItem(item_id, intake):
            return service.accept(item_id, intake, operator)
        case AttachItem(item_id, number):
            return service.attach(item_id, number, operator)
        case DismissItem(item_id, reason):
            service.dismiss(item_id, reason, operator)
            return None
    raise TypeError(f"not a tray command: {command!r}")
