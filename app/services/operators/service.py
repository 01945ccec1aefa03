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
from app.protocol.tokens import Token, tokens, verify_token
from app.services.operators.commands import (
    AddOperator,
    ChangeRoles,
    CreateToken,
    DisableOperator,
    EnableOperator,
    OperatorCommand,
    ResetPin,
    RevokeToken,
)
from app.services.operators.pins import PinHasher
from app.services.operators.rights import authorise
from app.services.operators.signin import SIGNIN_ACTOR, Attempts, SignIn, attempts, sign_in
from app.services.operators.tokens import (
    check_secret,
    new_secret,
    plan_revoke,
    plan_token,
    token_actor,
)


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

    # -- tokens for scripts (app/protocol/tokens.py) --------------------------------------

    def tokens(self) -> dict[str, Token]:
        return tokens(self.journal.entries(OPERATORS_CARD))

    def create_token(self, command: CreateToken, actor: Account | None) -> tuple[Token, str]:
        """Make a token as `actor` (who needs manage_operators); returns it and its secret,
        which exists only in the caller's hands from here (shown once, kept in a keyring)."""
        authorise(actor, command, self.table)
        assert actor is not None
        secret = new_secret()
        kind, payload = plan_token(self.tokens(), command.name, command.rights,
                                   self.clock.now(), command.expires_at, command.note, secret)
        self.journal.write([NewEntry(OPERATORS_CARD, kind, payload)], actor.id)
        return self.tokens()[str(payload["name"])], secret

    def revoke_token(self, command: RevokeToken, actor: Account | None) -> Token:
        authorise(actor, command, self.table)
        assert actor is not None
        kind, payload = plan_revoke(self.tokens(), command.name, command.reason)
        self.journal.write([NewEntry(OPERATORS_CARD, kind, payload)], actor.id)
        return self.tokens()[str(payload["name"])]

    def sign_in_token(self, secret: str) -> Account:
        """The account a script's token acts as, if it is in force now; a refused token is a
        failed sign-in fact (the audit lists it), a good one writes nothing (scripts run
        every minute)."""
        known = self.tokens()
        try:
            return token_actor(check_secret(known, secret, self.clock.now()))
        except PermissionDenied:
            found = verify_token(known, secret) if secret.strip() else None
            login = found.actor if found is not None else "token"
            reason = "disabled" if found is not None else "unknown_login"
            self.journal.write([NewEntry(SIGNINS_CARD, "operator.signin_failed", {
                "login": login, "reason": reason, "at": self.clock.now().isoformat()})],
                SIGNIN_ACTOR)
            raise

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
