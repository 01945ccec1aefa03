"""The handover's command vocabulary: the outgoing lead's edits, the incoming lead's
acceptance and the override, from the window's handover dialog and `dispatch-desk handover`
alike, handled through `Desk.handle`. One command is one HandoverService call, one journal
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.cards.card import Operator
from app.services.handover.service import HandoverService
from app.services.handover.sheet import Acceptance


@dataclass(frozen=True)
class EditHandover:
    target: str  # "sheet" or a card number
    field: str
    text: str


@dataclass(frozen=True)
class AcceptHandover:
    incoming: str
    read_back: Sequence[str]
    outgoing: str = ""


@dataclass(frozen=True)
class OverrideHandover:
    reason: str
    incoming: str = ""


HandoverCommand = EditHandover | AcceptHandover | OverrideHandover


def handle_handover(command: HandoverCommand, service: HandoverService,
                    operator: Operator) -> Acceptance | None:
    """Run one handover command; an acceptance or override returns what was settled."""
    match command:
        case EditHandover(target, field, text):
            service.edit(target, field, text, operator)
            return None
        case AcceptHandover(incoming, read_back, outgoing):
            return service.accept(incoming, read_back, operator, outgoing=outgoing)
        case OverrideHandover(reason, incoming):
            return service.override(reason, operator, incoming=incoming)
    raise TypeError(f"not a handover command: {command!r}")
