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
from app.errors import DeskError, PermissionDenied
from app.loaders import load_ladder
from app.models.journal import Journal
from app.protocol.accounts import Account
from app.protocol.rights import Right
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
from app.services.operators.commands import OperatorCommand
from app.services.operators.rights import authorise, refusal
from app.services.operators.service import OperatorService


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
    #: The operator accounts this desk knows (None: a desk built without them, as in tests
    #: of one service). Once any account exists, every command needs a signed-in operator
    #: holding its right, and the store re-checks the same (app/store/authorise.py).
    operators: OperatorService | None = None
    signed_in: Account | None = None
    #: The ladder file the commands over a ladder judge by (the `ladder` setting): read on
    #: first use, so a desk that never touches a ladder never reads it.
    _ladder: Ladder | None = field(default=None, init=False, repr=False)

    @property
    def ladder(self) -> Ladder:
        if self._ladder is None:
            self._ladder = load_ladder(self.settings.ladder)
        return self._ladder

    @property
    def needs_sign_in(self) -> bool:
        """Whether people sign in here: the desk knows at least one operator account."""
        return self.operators is not None and self.operators.any_accounts()

    def sign_in(self, login: str, pin: str) -> Account:
        """Check a login and PIN against the last known accounts (no link needed); the
        attempt is a journal fact. PermissionDenied carries the one-line refusal."""
        if self.operators is None:
            raise PermissionDenied("Not done: this desk has no operator accounts")
        result = self.operators.sign_in(login, pin)
        if result.account is None:
            raise PermissionDenied(result.refusal or "Not done: sign-in refused")
        self.signed_in = result.account
        self.operator = self.operator_for(result.account)
        return result.account

    def sign_out(self) -> None:
        """Lock the desk or hand it over: nobody is signed in until the next sign-in."""
        self.signed_in = None

    def operator_for(self, account: Account) -> Operator:
        """The entry author for an account: its id (never a typed name), in the first of
        its roles that may change a priority, else its first role."""
        roles = list(account.roles)
        role = next((r for r in roles if r in self.rules.priority_roles),
                    roles[0] if roles else "observer")
        return Operator(account.id, role)

    def require(self, *rights: Right) -> Operator:
        """For a write that is not (yet) a command -- a review, a queued page cancelled, a
        message cancelled: the operator to write as, refused in one line unless the signed-in
        account holds `rights` (write_cards when none is named). No-op without accounts."""
        if not self.needs_sign_in:
            return self.operator
        assert self.operators is not None
        needed = frozenset(rights or (Right.WRITE_CARDS,))
        problem = refusal(self.signed_in, needed, self.operators.table)
        if problem is not None or self.signed_in is None:
            raise PermissionDenied(problem or "Not done: nobody is signed in (sign in first)")
        return self.operator_for(self.signed_in)

    def _actor(self, command: object, actor: Account | None) -> Operator:
        """Who runs `command`: the settings' operator on a desk without accounts; else the
        signed-in (or given) account, refused unless it holds the command's right."""
        if not self.needs_sign_in:
            return self.operator
        assert self.operators is not None
        account = actor or self.signed_in
        number = getattr(command, "number", None)
        card = None
        if isinstance(number, str) and number.strip():
            try:
                card = self.cards.get(number)
            except DeskError:  # an unknown number is the command's own error to give
                card = None
        authorise(account, command, self.operators.table, card)
        assert account is not None  # authorise refuses nobody signed in
        return self.operator_for(account)

    @overload
    def handle(self, command: CardCommand, *, actor: Account | None = None) -> Card: ...
    @overload
    def handle(self, command: HandoverCommand, *, actor: Account | None = None
               ) -> Acceptance | None: ...
    @overload
    def handle(self, command: AcceptItem | AttachItem, *, actor: Account | None = None) -> Card: ...
    @overload
    def handle(self, command: DismissItem, *, actor: Account | None = None) -> None: ...
    @overload
    def handle(self, command: LadderCommand, *, actor: Account | None = None) -> LadderState: ...
    @overload
    def handle(self, command: OperatorCommand, *, actor: Account | None = None) -> Account: ...

    def handle(self, command: CardCommand | HandoverCommand | IntakeCommand | LadderCommand
               | OperatorCommand, *, actor: Account | None = None
               ) -> Card | Acceptance | LadderState | Account | None:
        """Run one command as the operator at the desk: one journal transaction. A card
        command returns the card as it now stands; a handover command what it settled; a
        tray command the card the item became or joined (None for a dismissal); a ladder
        command (escalate now, hold, resume) the card's ladder as it now stands; an account
        command the account. Once the desk knows accounts, `actor` (the incoming lead who
        signed the handover with their own PIN) or the signed-in operator must hold the
        command's right, or PermissionDenied says which right and who holds it."""
        if isinstance(command, OperatorCommand):
            if self.operators is None:
                raise PermissionDenied("Not done: this desk has no operator accounts")
            return self.operators.handle(command, actor or self.signed_in)
        operator = self._actor(command, actor)
        if isinstance(command, LadderCommand):
            return handle_ladder(command, self.journal, self.ladder, self.clock, operator)
        if isinstance(command, HandoverCommand):
            return handle_handover(command, self.handover, operator)
        if isinstance(command, IntakeCommand):
            return handle_intake(command, self.intake, operator)
        return handle(command, self.cards, operator)

    def close(self) -> None:
        self.journal.close()
