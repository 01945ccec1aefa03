"""Operator accounts on a desk: the last known list (folded from the journal), signing in, and
an admin's changes as journal entries that sync like every other.

The accounts a desk knows are those in its journal: its own changes (a desk with no store) and
every change pulled from the store. Signing in needs no link. Each change is judged twice
before it is written: the actor's right (`rights.authorise`) and the change itself
(`app.protocol.accounts.plan_*`, the same checks the store's command line makes).
"""

from __future__ import annotations

from app.clock import Clock
from app.errors import PermissionDenied
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.protocol import accounts as acc
from app.protocol.accounts import Account
from app.protocol.catalogue import OPERATORS_CARD, SIGNINS_CARD
from app.protocol.rights import RoleRights
from app.services.operators.commands import (
    AddOperator,
    ChangeRoles,
    DisableOperator,
    EnableOperator,
    OperatorCommand,
    ResetPin,
)
from app.services.operators.pins import PinHasher
from app.services.operators.rights import authorise
from app.services.operators.signin import Attempts, SignIn, attempts, sign_in


class OperatorService:
    def __init__(self, journal: Journal, clock: Clock, table: RoleRights,
                 hasher: PinHasher | None = None) -> None:
        self.journal = journal
        self.clock = clock
        self.table = table
        self.hasher = hasher or PinHasher()

    # -- reading --------------------------------------------------------------------------

    def accounts(self) -> dict[str, Account]:
        return acc.accounts(self.journal.entries(OPERATORS_CARD))

    def attempts(self, known: dict[str, Account] | None = None) -> dict[str, Attempts]:
        return attempts(self.journal.entries(SIGNINS_CARD),
                        self.accounts() if known is None else known)

    def any_accounts(self) -> bool:
        """Whether this desk knows any account (before the first, nobody signs in)."""
        return bool(self.accounts())

    # -- signing in -----------------------------------------------------------------------

    def sign_in(self, login: str, pin: str) -> SignIn:
        """Check the login and PIN, and write what happened (a sign-in or a failed attempt)
        in one journal transaction. The caller shows `refusal` when it is not `ok`."""
        known = self.accounts()
        result = sign_in(known, login, pin, self.attempts(known), self.clock.now(),
                         hasher=self.hasher, table=self.table)
        if result.entry is not None:
            self.journal.write([result.entry], result.author)
        return result

    # -- an admin's changes ---------------------------------------------------------------

    def handle(self, command: OperatorCommand, actor: Account | None) -> Account:
        """Run one account command as `actor` (the signed-in admin; None only for the very
        first account of a desk, which must be able to add the others). Returns the account
        as it now stands."""
        known = self.accounts()
        if actor is None and known:
            raise PermissionDenied("Not done: managing operator accounts needs the right "
                                   "manage_operators; sign in as an admin first")
        if known:
            authorise(actor, command, self.table)
        kind, payload = self._plan(command, known)
        author = actor.id if actor is not None else str(payload["id"])
        self.journal.write([NewEntry(OPERATORS_CARD, kind, payload)], author)
        return self.accounts()[str(payload["id"])]

    def _plan(self, command: OperatorCommand, known: dict[str, Account]) -> acc.Planned:
        match command:
            case AddOperator(login, name, roles, pin, ident, note):
                pin_hash = self.hasher.hash(pin, login)
                return acc.plan_add(known, self.table, login=login, name=name, roles=roles,
                                    pin_hash=pin_hash, id=ident, note=note)
            case ChangeRoles(who, roles, reason):
                return acc.plan_roles(known, self.table, who, roles, reason)
            case DisableOperator(who, reason):
                return acc.plan_disable(known, self.table, who, reason)
            case EnableOperator(who, reason):
                return acc.plan_enable(known, who, reason)
            case ResetPin(who, pin, reason):
                account = acc.find(known, who)
                return acc.plan_pin(known, who, self.hasher.hash(pin, account.login), reason)
        raise TypeError(f"not an operator command: {command!r}")
