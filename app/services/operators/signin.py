"""Signing in at the desk: a login and a PIN against the last known accounts (no link needed).

Pure apart from the hash check: the accounts and the past attempts come in (folded from the
journal), the time is given, and the result says what to write -- ``operator.signed_in`` by
the account, or ``operator.signin_failed`` by the machine actor "sign-in" -- so the lockout
survives a restart and reaches other desks with the next sync.

Lockout: LOCK_AFTER wrong PINs for a login since its last sign-in lock it for LOCK_FOR after
the last of them; while locked no PIN is checked (and nothing is written). After the lock
each further wrong PIN locks it again; a right PIN ends the streak.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.models.entry import NewEntry
from app.protocol.accounts import Account, EntryLike, by_login
from app.protocol.catalogue import SIGNINS_CARD
from app.protocol.rights import Right, RoleRights
from app.services.operators.pins import PinHasher

LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=1)
#: Who a failed attempt's entry names as its author: nobody is signed in.
SIGNIN_ACTOR = "sign-in"
_COUNTED = ("wrong_pin", "unknown_login")
_LOGIN_MAX = 80
# Checked against when nobody has the login, so an unknown login costs what a wrong PIN costs
# and the time taken does not tell which logins exist (the hash of a random, forgotten text).
_NOBODY = ("$argon2id$v=19$m=65536,t=3,p=4$cYrVWrBHQb5LbjMH9bm9xA$"
           "Zpj0VfJsLWIwrCJ4ePvSW2/fFcVpMTwiWPngtMX+aIo")


@dataclass(frozen=True)
class Attempts:
    """A login's wrong PINs since its last sign-in, oldest first."""

    failures: tuple[datetime, ...] = ()

    def locked_until(self) -> datetime | None:
        if len(self.failures) < LOCK_AFTER:
            return None
        return self.failures[-1] + LOCK_FOR


def _when(entry: EntryLike) -> datetime:
    at = entry.payload.get("at")
    if isinstance(at, str):
        return datetime.fromisoformat(at)
    return datetime.fromtimestamp(int(entry.hlc.split(".", 1)[0]) / 1000, UTC)


def attempts(entries: Iterable[EntryLike], known: Mapping[str, Account]) -> dict[str, Attempts]:
    """Each login's current streak of wrong PINs, from the sign-in facts (SIGNINS_CARD)."""
    streaks: dict[str, list[datetime]] = {}
    for entry in sorted(entries, key=lambda e: e.hlc):
        if entry.kind == "operator.signin_failed":
            if entry.payload.get("reason", "wrong_pin") in _COUNTED:
                login = str(entry.payload.get("login", ""))
                streaks.setdefault(login, []).append(_when(entry))
        elif entry.kind == "operator.signed_in":
            account = known.get(str(entry.payload.get("id", "")))
            if account is not None:
                streaks.pop(account.login, None)
    return {login: Attempts(tuple(sorted(times))) for login, times in streaks.items()}


@dataclass(frozen=True)
class SignIn:
    """What one attempt came to: the account, or a refusal in one line; and the entry to
    write (None when nothing is: an empty login, or a login that is locked)."""

    account: Account | None
    refusal: str | None
    entry: NewEntry | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.account is not None

    @property
    def author(self) -> str:
        """Who the entry names: the account signing in, or the sign-in machinery."""
        return self.account.id if self.account is not None else SIGNIN_ACTOR


def _failed(login: str, reason: str, now: datetime) -> NewEntry:
    return NewEntry(SIGNINS_CARD, "operator.signin_failed",
                    {"login": login, "reason": reason, "at": now.isoformat()})


def who_can_enable(known: Mapping[str, Account], table: RoleRights | None) -> str:
    """"an admin (A. Admin, B. Lead)": the enabled people who may re-enable an account."""
    if table is None:
        return "an admin"
    names = [a.name for a in known.values()
             if a.enabled and Right.MANAGE_OPERATORS in table.rights_of(a.roles)]
    roles = ", ".join(r.label for r in table.holders(Right.MANAGE_OPERATORS))
    return f"an {roles}" + (f" ({', '.join(sorted(names)[:3])})" if names else "")


def sign_in(known: Mapping[str, Account], login: str, pin: str,
            failures: Mapping[str, Attempts], now: datetime, *,
            hasher: PinHasher | None = None, table: RoleRights | None = None) -> SignIn:
    """Check `login` and `pin` at `now`; see the module docstring for the lockout."""
    key = " ".join(login.split()).lower()[:_LOGIN_MAX]
    if not key:
        return SignIn(None, "Not signed in: type your login, then your PIN", None)
    until = failures.get(key, Attempts()).locked_until()
    if until is not None and now < until:
        left = max(1, int((until - now).total_seconds() + 0.999))
        return SignIn(None, f"Not signed in: {LOCK_AFTER} wrong PINs for {key}; try again in "
                            f"{left} s", None, until)
    check = hasher or PinHasher()
    account = by_login(known, key)
    if not check.verify(account.pin_hash if account else _NOBODY, pin) or account is None:
        reason = "unknown_login" if account is None else "wrong_pin"
        streak = len(failures.get(key, Attempts()).failures) + 1
        locked = now + LOCK_FOR if streak >= LOCK_AFTER else None
        tail = f"; {key} is locked for a minute" if locked else \
            f" ({LOCK_AFTER - streak} more tries before a one-minute lock)"
        return SignIn(None, f"Not signed in: wrong login or PIN{tail}",
                      _failed(key, reason, now), locked)
    if not account.enabled:
        return SignIn(None, f"Not signed in: the account {account.login} is disabled; "
                            f"{who_can_enable(known, table)} can enable it again "
                            f"(dispatch-desk operator enable {account.login})",
                      _failed(key, "disabled", now))
    return SignIn(account, None, NewEntry(SIGNINS_CARD, "operator.signed_in",
                                          {"id": account.id, "at": now.isoformat()}))
