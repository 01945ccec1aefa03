"""Which right each command needs, and the one-line refusal when the operator lacks it.

The desk asks before it writes (`Desk.handle`), the store asks again for every pushed entry
(app/store/authorise.py, through `app.protocol.rights.entry_rights`); the two agree because a
command's rights are those of the entries it writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.errors import PermissionDenied
from app.protocol.accounts import Account, roles_at
from app.protocol.rights import Right, RoleRights
from app.services.cards.card import Card
from app.services.cards.commands import ChangePriority, SetStatus
from app.services.handover.commands import AcceptHandover, EditHandover, OverrideHandover
from app.services.operators.commands import (
    AddOperator,
    ChangeRoles,
    CreateToken,
    DisableOperator,
    EnableOperator,
    ResetPin,
    RevokeToken,
)

_WRITE = frozenset({Right.WRITE_CARDS})
#: Commands that need more than write_cards. Every other command -- the card and tray
#: commands, editing the handover sheet, and any command added later without an entry
#: here -- needs write_cards: nothing writes without a right.
_FIXED: dict[type, frozenset[Right]] = {
    ChangePriority: frozenset({Right.CHANGE_PRIORITY}),
    AcceptHandover: frozenset({Right.ACCEPT_HANDOVER}),
    OverrideHandover: frozenset({Right.OVERRIDE_HANDOVER}),
    **dict.fromkeys((AddOperator, ChangeRoles, DisableOperator, EnableOperator, CreateToken,
                     RevokeToken), frozenset({Right.MANAGE_OPERATORS})),
}


def _priority(card: Card | Mapping[str, Any] | None) -> str | None:
    if card is None:
        return None
    if isinstance(card, Card):
        return card.priority
    value = card.get("priority")
    return str(value) if value else None


def required_rights(command: object, card: Card | Mapping[str, Any] | None = None
                    ) -> frozenset[Right]:
    """The rights `command` needs; `card` is the card it acts on as it stands (a Card or a
    projected state), which decides whether a close needs close_p1_p2."""
    if isinstance(command, ResetPin):
        return frozenset({Right.MANAGE_OPERATORS})
    if isinstance(command, SetStatus) and command.status.strip().lower() == "closed" and \
            _priority(card) in ("P1", "P2"):
        return frozenset({Right.WRITE_CARDS, Right.CLOSE_P1_P2})
    return _FIXED.get(type(command), _WRITE)


def required_for(command: object, card: Card | Mapping[str, Any] | None,
                 actor: Account | None) -> frozenset[Right]:
    """Like `required_rights`; a person resetting their own PIN needs no right."""
    if isinstance(command, ResetPin) and actor is not None and \
            command.who.strip().lower() in (actor.id, actor.login):
        return frozenset()
    return required_rights(command, card)


def person_decision(command: object) -> str | None:
    """What `command` does, if only a signed-in person may do it whatever a token holds
    (the rights a token cannot hold -- a priority, a handover's acceptance, the accounts --
    refuse the rest): closing a card, editing the handover sheet (app/protocol/tokens.py)."""
    if isinstance(command, SetStatus) and command.status.strip().lower() == "closed":
        return "closing a card"
    return "editing the handover sheet" if isinstance(command, EditHandover) else None


def refusal(account: Account | None, rights: frozenset[Right] | set[Right], table: RoleRights,
            when: str | datetime | None = None) -> str | None:
    """None if `account` holds every right in `rights` (now, or at `when`); otherwise one line
    that names the first missing right and who holds it:
    "Not done: changing a priority needs the right change_priority (dispatcher, shift lead,
    service owner); you are signed in as observer"."""
    if account is None:
        held: frozenset[str] = frozenset()
    elif when is not None:
        held = roles_at(account, when)
    else:
        held = frozenset(account.roles) if account.enabled else frozenset()
    have = table.rights_of(held)
    if account is not None and account.rights is not None:  # a script's token
        have = account.rights if account.enabled else frozenset()
    missing = [r for r in Right if r in rights and r not in have]
    if not missing:
        return None
    if account is None:
        who = "nobody is signed in (sign in first)"
    elif account.rights is not None:
        who = f"the {account.name} holds " + (
            ", ".join(sorted(r.value for r in account.rights)) or "no right")
    elif not account.enabled:
        who = f"the account {account.login} is disabled"
    else:
        ordered = [r for r in table.names if r in account.roles] + \
            [r for r in account.roles if r not in table.names]
        who = f"you are signed in as {table.labels(ordered)}"
    return f"Not done: {table.needs(missing[0])}; {who}"


def demand(account: Account | None, rights: frozenset[Right] | set[Right],
           table: RoleRights) -> None:
    """PermissionDenied with the refusal line unless `account` holds `rights` (for a write
    that is not a `Desk.handle` command: a roster import, an integration's key)."""
    problem = refusal(account, rights, table)
    if problem is not None:
        raise PermissionDenied(problem)


def authorise(account: Account | None, command: object, table: RoleRights,
              card: Card | Mapping[str, Any] | None = None) -> None:
    """PermissionDenied with the refusal line unless `account` may run `command`."""
    decision = person_decision(command)
    if account is not None and account.rights is not None and decision:
        raise PermissionDenied(f"Not done: {decision} is a person's decision and the "
                               f"{account.name} is a script's; sign in with --login NAME")
    problem = refusal(account, required_for(command, card, account), table)
    if problem is not None:
        raise PermissionDenied(problem)
