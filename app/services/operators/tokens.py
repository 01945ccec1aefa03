"""The desk's half of tokens for scripts (the shared fold and judgement are in
app/protocol/tokens.py): making one, revoking one, and a token acting as an account.

`new_secret` is the only place a token's secret exists before it is shown once and kept in
the keyring; the entry gets its SHA-256 (`hash_token`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime

from app.errors import PermissionDenied, ValidationError
from app.protocol.accounts import Account, Planned, Step, _check_id
from app.protocol.rights import Right
from app.protocol.tokens import TOKEN_RIGHTS, Token, hash_token, verify_token

#: What every token's secret starts with, so one found in a log or a paste is recognised.
SECRET_PREFIX = "ddt_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _rights(names: Sequence[str]) -> list[str]:
    allowed = ", ".join(sorted(r.value for r in TOKEN_RIGHTS))
    chosen = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    if not chosen:
        raise ValidationError(f"rights: give at least one, e.g. --rights write_cards (a token "
                              f"may hold {allowed})", field="rights")
    known = {r.value for r in Right}
    for name in chosen:
        if name not in known:
            raise ValidationError(f"rights: unknown right {name[:40]!r}; a token may hold "
                                  f"{allowed}", field="rights")
        if name not in {r.value for r in TOKEN_RIGHTS}:
            raise ValidationError(f"rights: {name} is a signed-in person's (a priority, a "
                                  f"close of a P1/P2, a handover, the accounts); a token may "
                                  f"hold {allowed}", field="rights")
    return chosen


def plan_token(known: Mapping[str, Token], name: str, rights: Sequence[str],
               now: datetime, expires_at: datetime | None = None, note: str = "",
               secret: str = "") -> Planned:
    """The ``operator.token_created`` entry for a new token whose secret is `secret`."""
    clean = _check_id(name, "for")
    if clean in known:
        raise ValidationError(f"for: the name {clean!r} was used by a token (revoked or not) "
                              f"and is never reused; pick another, e.g. {clean}-2", field="for")
    payload: dict[str, object] = {"name": clean, "rights": _rights(rights),
                                  "token_hash": hash_token(secret)}
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationError("expires: give a time with its zone", field="expires")
        if expires_at <= now:
            raise ValidationError("expires: that time has passed; give a later one (or none: "
                                  "the token works until revoked)", field="expires")
        payload["expires_at"] = expires_at.isoformat()
    if note.strip():
        payload["note"] = " ".join(note.split())[:300]
    return "operator.token_created", payload


def plan_revoke(known: Mapping[str, Token], name: str, reason: str = "") -> Planned:
    token = known.get(name.strip().lower())
    if token is None:
        raise ValidationError(f"no token {name.strip()[:40]!r}; see: dispatch-desk token list",
                              field="name")
    if token.revoked is not None:
        raise ValidationError(f"the token {token.name} is already revoked", field="name")
    text = " ".join(reason.split())[:300]
    return "operator.token_revoked", {"name": token.name, **({"reason": text} if text else {})}


def token_actor(token: Token) -> Account:
    """The token as the account a command runs as: its actor id, no role, its rights."""
    step = Step(token.created, "operator.token_created", token.by, (), True, token.note)
    return Account(token.actor, token.actor, f"token {token.name}", (), True, "", (step,),
                   rights=frozenset(token.rights))


def check_secret(known: Mapping[str, Token], secret: str, now: datetime) -> Token:
    """The token `secret` is, in force now; PermissionDenied in one line otherwise."""
    token = verify_token(known, secret) if secret.strip() else None
    if token is None:
        raise PermissionDenied("Not signed in: the token is not known at this desk (mistyped, "
                               "or made on another desk and not synced here yet)")
    problem = token.problem_at(now)
    if problem is not None:
        raise PermissionDenied(f"Not signed in: {problem}; an admin makes a new one with "
                               "dispatch-desk token create")
    return token
