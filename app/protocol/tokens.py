"""Tokens for scripts and monitoring hooks, as a fold of their entries (under OPERATORS_CARD),
shared by desks and the store.

A token is made by an admin (`dispatch-desk token create --for NAME --rights ...`): a random
secret shown once and kept in the keyring of the machine that runs the script; the journal
holds only its SHA-256 (a 256-bit random secret needs no slow hash: nobody can guess it, and
the check runs on every command a script gives). Entries written with it name the actor
TOKEN_PREFIX + NAME ("token:nagios") and it has exactly its rights, never a role's.

A token may hold only rights a script can exercise (TOKEN_RIGHTS): writing to cards, and
editing the roster, rules, ladder or integrations. A priority change, closing a card, a
post-incident review, a handover and the accounts are decisions of a signed-in person
(`person_decision`), refused for a token on the desk and at the store alike.

The fold is in stamp order; the first ``operator.token_created`` of a name wins, and a name is
never reused (a new token after a revocation takes a new name, e.g. nagios-2), so an entry's
token is always the one that was in force at the entry's time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from app.protocol.accounts import EntryLike, stamp_of
from app.protocol.catalogue import SIGNIN_KINDS, TOKEN_KINDS, TOKEN_PREFIX
from app.protocol.rights import Right, person_only

__all__ = ["TOKEN_PREFIX", "TOKEN_RIGHTS", "Token", "hash_token", "person_decision",
           "token_name", "token_problem", "tokens", "verify_token"]

#: What a token may hold. The rest are a person's (DOMAIN.md: only the dispatcher, the shift
#: lead and the service owner change a priority; the incoming lead accepts a handover).
TOKEN_RIGHTS = frozenset({Right.WRITE_CARDS, Right.EDIT_ROSTER, Right.EDIT_RULES,
                          Right.EDIT_LADDER, Right.EDIT_INTEGRATIONS})


@dataclass(frozen=True)
class Token:
    name: str
    rights: frozenset[Right]
    token_hash: str
    created: str  # the stamp of its operator.token_created
    by: str
    expires_at: datetime | None = None
    note: str = ""
    revoked: str | None = None  # the stamp of its operator.token_revoked
    revoked_by: str = ""
    reason: str = ""

    @property
    def actor(self) -> str:
        return TOKEN_PREFIX + self.name

    def problem_at(self, when: str | datetime) -> str | None:
        """Why the token did not work at `when` (an entry's stamp or a time); None if it did."""
        stamp = stamp_of(when)
        if self.created > stamp:
            return f"the token {self.name} did not exist yet at {_time(stamp)}"
        if self.revoked is not None and self.revoked <= stamp:
            return f"the token {self.name} was revoked at {_time(self.revoked)}" + (
                f" ({self.reason})" if self.reason else "")
        if self.expires_at is not None and self.expires_at <= _moment(stamp):
            return f"the token {self.name} expired at {self.expires_at:%Y-%m-%d %H:%M %Z}"
        return None


def _moment(stamp: str) -> datetime:
    return datetime.fromtimestamp(int(stamp.split(".", 1)[0]) / 1000, UTC)


def _time(stamp: str) -> str:
    return _moment(stamp).strftime("%Y-%m-%d %H:%M UTC")


def token_name(actor: str) -> str | None:
    """The token's name if `actor` is a token's ("token:nagios" -> "nagios")."""
    return actor[len(TOKEN_PREFIX):] if actor.startswith(TOKEN_PREFIX) else None


def hash_token(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _expiry(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def tokens(entries: Iterable[EntryLike]) -> dict[str, Token]:
    """Every token from its entries (other kinds are skipped)."""
    out: dict[str, Token] = {}
    for entry in sorted(entries, key=lambda e: e.hlc):
        if entry.kind not in TOKEN_KINDS:
            continue
        p = entry.payload
        name = str(p.get("name", ""))
        if entry.kind == "operator.token_created":
            if name in out:
                continue  # a name is used once: a second creation cannot take it over
            rights = frozenset(Right(r) for r in p.get("rights") or ()
                               if r in {t.value for t in TOKEN_RIGHTS})
            out[name] = Token(name, rights, str(p.get("token_hash", "")), entry.hlc,
                              entry.operator, _expiry(p.get("expires_at")),
                              str(p.get("note", "")))
        elif name in out and out[name].revoked is None:
            out[name] = replace(out[name], revoked=entry.hlc, revoked_by=entry.operator,
                                reason=str(p.get("reason", "")))
    return out


def verify_token(known: Mapping[str, Token], secret: str) -> Token | None:
    """The token whose hash `secret` has (in force or not: the caller says why not)."""
    wanted = hash_token(secret.strip())
    found = None
    for token in known.values():
        if hmac.compare_digest(token.token_hash, wanted):
            found = token
    return found


def person_decision(kind: str, payload: Mapping[str, Any]) -> bool:
    """What only a signed-in person decides, whatever rights a token holds: a person-only
    entry (`person_only`) other than an integration's or maintenance window's, which a
    token holding edit_integrations may write."""
    return person_only(kind, payload) and not kind.startswith(
        ("integration.", "webhook.", "maintenance."))


def token_problem(token: Token | None, name: str, kind: str, payload: Mapping[str, Any],
                  when: str | datetime, needed: frozenset[Right]) -> str | None:
    """Why an entry written with the token `name` is refused (None when it may stand):
    no such token, not in force at the entry's time, a person's decision, or a right the
    token does not hold."""
    if token is None:
        return f"the token {name[:40]!r} is not known here"
    problem = token.problem_at(when)
    if problem is not None:
        return problem
    if person_decision(kind, payload) or kind in SIGNIN_KINDS:
        return f"only a signed-in person may write {kind}; the token {name} is a script's"
    missing = [r for r in Right if r in needed and r not in token.rights]
    if missing:
        held = ", ".join(sorted(r.value for r in token.rights)) or "no right"
        return f"{kind} needs the right {missing[0].value}; the token {name} holds {held}"
    return None
