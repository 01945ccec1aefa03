"""The desk object every front end works through: what `app.bootstrap` builds, once.

Its type lives here, apart from the composition root, so the window and the command line
depend on this narrow surface and never on how it was wired. Writes go through `handle`
(one command, one journal transaction); reads through the services it carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

from app.adapters.roster_store import DeskRoster
from app.clock import Clock
from app.config import Settings
from app.models.journal import Journal
from app.services.cards.card import Card, Operator
from app.services.cards.commands import CardCommand, handle
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.cards.sla import SlaWatch
from app.services.handover.commands import HandoverCommand, handle_handover
from app.services.handover.service import HandoverService
from app.services.handover.sheet import Acceptance
from app.services.handover.shifts import ShiftPlan
from app.services.intake import IntakeService
from app.services.intake.commands import (
    AcceptItem,
    AttachItem,
    DismissItem,
    IntakeCommand,
    handle_intake,
)


@dataclass
class Desk:
    """Everything a front end (command line, window, wallboard) needs, already wired."""

    settings: Settings
    clock: Clock
    journal: Journal
    rules: DispatchRules
    cards: CardService
    sla: SlaWatch
    operator: Operator
    roster: DeskRoster
    shifts: ShiftPlan
    handover: HandoverService
    intake: IntakeService

    @overload
    def handle(self, command: CardCommand) -> Card: ...
    @overload
    def handle(self, command: HandoverCommand) -> Acceptance | None: ...
    @overload
    def handle(self, command: AcceptItem | AttachItem) -> Card: ...
    @overload
    def handle(self, command: DismissItem) -> None: ...

    def handle(self, command: CardCommand | HandoverCommand | IntakeCommand
               ) -> Card | Acceptance | None:
        """Run one command as the operator at the desk: one journal transaction. A card
        command returns the card as it now stands; a handover command what it settled; a
        tray command the card the item became or joined (None for a dismissal)."""
        if isinstance(command, HandoverCommand):
            return handle_handover(command, self.handover, self.operator)
        if isinstance(command, IntakeCommand):
            return handle_intake(command, self.intake, self.operator)
        return handle(command, self.cards, self.operator)

    def close(self) -> None:
        self.journal.close()
