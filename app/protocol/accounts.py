"""Operator accounts as a fold of their entries (under OPERATORS_CARD), shared by desks and the
store: who exists, with which roles, enabled or not, and what each held at any moment.

The fold is in stamp order, so every desk and the store that hold the same entries know the
same accounts, whatever order the entries came in. The first ``operator.added`` of an id (or a
login) wins; a later one for the same id or login is ignored, so an account cannot be taken
over by adding it again -- a new PIN is ``operator.pin_set``.

`plan_*` judge an admin's change against the accounts as they stand and return the entry to
write (kind, payload), for the desk's service and the store's command line alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from app.errors import NotFoundError, ValidationError
from app.protocol.catalogue import OPERATOR_ID, OPERATORS_CARD, SIGNIN_KINDS, TOKEN_KINDS
from app.protocol.rights import MACHINE_ACTORS, Right, RoleRights

__all__ = ["OPERATORS_CARD", "Account", "Step", "accounts", "by_login", "enabled_at",
           "find", "held_at", "plan_add", "plan_disable", "plan_enable", "plan_pin",
           "plan_roles", "roles_at", "stamp_of"]


class EntryLike(Protocol):
    """What the fold reads of an entry (`app.models.entry.Entry` is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def hlc(self) -> str: ...
    @property
    def operator(self) -> str: ...


@dataclass(frozen=True)
class Step:
    """One change to an account: from its stamp on, these roles and this state held."""

    hlc: str
    kind: str
    by: str  # the operator (or machine actor) that wrote it
    roles: tuple[str, ...]
    enabled: bool
    reason: str = ""


@dataclass(frozen=True)
class Account:
    id: str
    login: str
    name: str
    roles: tuple[str, ...]  # now: after every entry the fold has seen
    enabled: bool
    pin_hash: str
    history: tuple[Step, ...]  # the first step is the addition
    #: A script's token acting as an account (app/services/operators/tokens.py): exactly
    #: these rights, whatever its (empty) roles say. None for a person.
    rights: frozenset[Right] | None = None

    @property
    def added(self) -> str:
        return self.history[0].hlc


def stamp_of(when: str | datetime) -> str:
    """An entry's stamp as it is, or the last stamp of a moment: a step stamped in the same
    millisecond counts as before it."""
    if isinstance(when, str):
        return when
    return f"{int(when.timestamp() * 1000):015d}.99999.~"


def held_at(account: Account, when: str | datetime) -> Step | None:
    """The step in force at `when` (an entry's stamp, or a time); None before the account
    existed."""
    stamp = stamp_of(when)
    found: Step | None = None
    for step in account.history:
        if step.hlc > stamp:
            break
        found = step
    return found


def roles_at(account: Account, when: str | datetime) -> frozenset[str]:
    """The roles the operator held at `when` (an entry's stamp): none before the account was
    added, and none while it was disabled."""
    step = held_at(account, when)
    return frozenset(step.roles) if step is not None and step.enabled else frozenset()


def enabled_at(account: Account, when: str | datetime) -> bool:
    step = held_at(account, when)
    return step is not None and step.enabled


def _roles(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(r) for r in value or ()))


def accounts(entries: Iterable[EntryLike]) -> dict[str, Account]:
    """Every account from its entries (other kinds, and sign-in facts, are skipped)."""
    out: dict[str, Account] = {}
    logins: set[str] = set()
    for entry in sorted(entries, key=lambda e: e.hlc):
        kind, p = entry.kind, entry.payload
        if not kind.startswith("operator.") or kind in SIGNIN_KINDS or kind in TOKEN_KINDS:
            continue  # tokens are app/protocol/tokens.py's fold
        ident = str(p.get("id", ""))
        reason = str(p.get("reason", ""))
        if kind == "operator.added":
            login = str(p.get("login", ""))
            if ident in out or login in logins or ident in MACHINE_ACTORS:
                continue
            roles = _roles(p.get("roles"))
            step = Step(entry.hlc, kind, entry.operator, roles, True, str(p.get("note", "")))
            out[ident] = Account(ident, login, str(p.get("name", "")), roles, True,
                                 str(p.get("pin_hash", "")), (step,))
            logins.add(login)
            continue
        account = out.get(ident)
        if account is None:
            continue  # a change to an account this fold has not seen added: nothing to change
        roles, enabled, pin = account.roles, account.enabled, account.pin_hash
        if kind == "operator.roles":
            roles = _roles(p.get("roles"))
        elif kind == "operator.disabled":
            enabled = False
        elif kind == "operator.enabled":
            enabled = True
        elif kind == "operator.pin_set":
            pin = str(p.get("pin_hash", ""))
        step = Step(entry.hlc, kind, entry.operator, roles, enabled, reason)
        out[ident] = replace(account, roles=roles, enabled=enabled, pin_hash=pin,
                             history=(*account.history, step))
    return out


def by_login(known: Mapping[str, Account], login: str) -> Account | None:
    wanted = login.strip().lower()
    return next((a for a in known.values() if a.login == wanted), None)


def find(known: Mapping[str, Account], who: str) -> Account:
    """An account by login or id; NotFoundError saying how to list them."""
    wanted = who.strip().lower()
    found = known.get(wanted) or by_login(known, wanted)
    if found is None:
        raise NotFoundError(f"no operator account {who.strip()[:40]!r}; see: dispatch-desk "
                            "operator list", field="login")
    return found


# -- an admin's changes -------------------------------------------------------------------

Planned = tuple[str, dict[str, Any]]


def _check_id(value: str, field: str) -> str:
    clean = value.strip().lower()
    if not OPERATOR_ID.fullmatch(clean):
        raise ValidationError(f"{field}: use 1 to 40 letters, digits, '.', '_' or '-', starting "
                              "with a letter or digit (e.g. jdoe)", field=field)
    if clean in MACHINE_ACTORS:
        raise ValidationError(f"{field}: {clean!r} names the desk's own machinery; pick "
                              "another", field=field)
    return clean


def _check_roles(table: RoleRights, roles: Sequence[str]) -> list[str]:
    clean = list(dict.fromkeys(r.strip().lower().replace(" ", "_") for r in roles if r.strip()))
    unknown = [r for r in clean if table.role(r) is None]
    if unknown:
        raise ValidationError(f"roles: unknown role {unknown[0]!r}; use "
                              f"{', '.join(table.names)}", field="roles")
    return clean


def _reason(reason: str) -> dict[str, str]:
    text = " ".join(reason.split())[:300]
    return {"reason": text} if text else {}


def _managers_left(known: Mapping[str, Account], table: RoleRights, changed: str,
                   roles: Sequence[str], enabled: bool) -> bool:
    """Whether some enabled account can still manage accounts after this change."""
    for account in known.values():
        now_roles, now_enabled = (roles, enabled) if account.id == changed else \
            (account.roles, account.enabled)
        if now_enabled and Right.MANAGE_OPERATORS in table.rights_of(now_roles):
            return True
    return False


def plan_add(known: Mapping[str, Account], table: RoleRights, *, login: str, name: str,
             roles: Sequence[str], pin_hash: str, id: str | None = None,
             note: str = "") -> Planned:
    login = _check_id(login, "login")
    ident = _check_id(id, "id") if id else login
    if by_login(known, login) is not None or ident in known:
        raise ValidationError(f"login: an account {login!r} exists (a disabled one too); "
                              "enable it, reset its PIN, or pick another login", field="login")
    clean = " ".join(name.split())
    if not clean or len(clean) > 120:
        raise ValidationError("name: give the person's name as colleagues know it (at most "
                              "120 characters)", field="name")
    chosen = _check_roles(table, roles)
    if not known and Right.MANAGE_OPERATORS not in table.rights_of(chosen):
        holders = ", ".join(r.name for r in table.holders(Right.MANAGE_OPERATORS))
        raise ValidationError(f"roles: the first account must be able to add the others; give "
                              f"it a role with manage_operators ({holders})", field="roles")
    payload: dict[str, Any] = {"id": ident, "login": login, "name": clean, "roles": chosen,
                               "pin_hash": pin_hash}
    if note.strip():
        payload["note"] = " ".join(note.split())[:300]
    return "operator.added", payload


def plan_roles(known: Mapping[str, Account], table: RoleRights, who: str,
               roles: Sequence[str], reason: str = "") -> Planned:
    account = find(known, who)
    chosen = _check_roles(table, roles)
    if tuple(chosen) == account.roles:
        raise ValidationError(f"roles: {account.login} already has "
                              f"{table.labels(chosen)}", field="roles")
    if not _managers_left(known, table, account.id, chosen, account.enabled):
        raise ValidationError("roles: that would leave no enabled account able to manage "
                              "accounts; give manage_operators to someone else first",
                              field="roles")
    return "operator.roles", {"id": account.id, "roles": chosen, **_reason(reason)}


def plan_disable(known: Mapping[str, Account], table: RoleRights, who: str,
                 reason: str = "") -> Planned:
    account = find(known, who)
    if not account.enabled:
        raise ValidationError(f"login: {account.login} is already disabled", field="login")
    if not _managers_left(known, table, account.id, account.roles, False):
        raise ValidationError(f"login: {account.login} is the last enabled account that can "
                              "manage accounts; add another admin first", field="login")
    return "operator.disabled", {"id": account.id, **_reason(reason)}


def plan_enable(known: Mapping[str, Account], who: str, reason: str = "") -> Planned:
    account = find(known, who)
    if account.enabled:
        raise ValidationError(f"login: {account.login} is already enabled", field="login")
    return "operator.enabled", {"id": account.id, **_reason(reason)}


def plan_pin(known: Mapping[str, Account], who: str, pin_hash: str,
             reason: str = "") -> Planned:
    account = find(known, who)
    return "operator.pin_set", {"id": account.id, "pin_hash": pin_hash, **_reason(reason)}
