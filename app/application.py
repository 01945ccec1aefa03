"""The desk object every front end works through: what `app.bootstrap` builds, once.

Its type lives here, apart from the composition root, so the window and the command line
depend on this narrow surface and never on how it was wired. Writes go through `handle`
(one command, one journal transaction); reads through the services it carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import overload

from app.adapters.roster_store import DeskRoster
from app.clock import Clock
from app.config import Settings
from app.loaders import load_ladder
from app.models.journal import Journal
from app.services.cards.card import Card, Operator
from app.services.cards.commands import CardCommand, handle
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.cards.sla import SlaWatch
from app.services.escalation.commands import LadderCommand, handle_ladder
from app.services.escalation.ladder import Ladder
from app.services.escalation.state import LadderState
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
    #: The ladder file the commands over a ladder judge by (the `ladder` setting): read on
    #: first use, so a desk that never touches a ladder never reads it.
    _ladder: Ladder | None = field(default=None, init=False, repr=False)

    @property
    def ladder(self) -> Ladder:
        if self._ladder is None:
            self._ladder = load_ladder(self.settings.ladder)
        return self._ladder

    @overload
    def handle(self, command: CardCommand) -> Card: ...
    @overload
    def handle(self, command: HandoverCommand) -> Acceptance | None: ...
    @overload
    def handle(self, command: AcceptItem | AttachItem) -> Card: ...
    @overload
    def handle(self, command: DismissItem) -> None: ...
    @overload
    def handle(self, command: LadderCommand) -> LadderState: ...

    def handle(self, command: CardCommand | HandoverCommand | IntakeCommand | LadderCommand
               ) -> Card | Acceptance | LadderState | None:
        """Run one command as the operator at the desk: one journal transaction. A card
        command returns the card as it now stands; a handover command what it settled; a
        tray command the card the item became or joined (None for a dismissal); a ladder
        command (escalate now, hold, resume) the card's ladder as it now stands."""
        if isinstance(command, LadderCommand):
            return handle_ladder(command, self.journal, self.ladder, self.clock, self.operator)
        if isinstance(command, HandoverCommand):
            return handle_handover(command, self.handover, self.operator)
        if isinstance(command, IntakeCommand):
            return handle_intake(command, self.intake, self.operator)
        return handle(command, self.cards, self.operator)

    def close(self) -> None:
        self.journal.close()
