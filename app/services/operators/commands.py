"""The operator-account command vocabulary, from `dispatch-desk operator ...` and (once wired)
the window's admin dialog alike: one command is one `OperatorService` call, one journal entry.
A command carries a PIN only to hash it; it never shows in a repr, a log or a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AddOperator:
    login: str
    name: str
    roles: Sequence[str]
    pin: str = field(repr=False)
    id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class ChangeRoles:
    who: str  # login or id
    roles: Sequence[str]
    reason: str = ""


@dataclass(frozen=True)
class DisableOperator:
    who: str
    reason: str = ""


@dataclass(frozen=True)
class EnableOperator:
    who: str
    reason: str = ""


@dataclass(frozen=True)
class ResetPin:
    who: str
    pin: str = field(repr=False)
    reason: str = ""


OperatorCommand = AddOperator | ChangeRoles | DisableOperator | EnableOperator | ResetPin


@dataclass(frozen=True)
class CreateToken:
    """A token for a script or monitoring hook (`dispatch-desk token create`)."""

    name: str
    rights: Sequence[str]
    expires_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class RevokeToken:
    name: str
    reason: str = ""


#: Token commands are OperatorService calls of their own (they return a Token, and creating
#: one returns its secret), not `Desk.handle` commands.
TokenCommand = CreateToken | RevokeToken
