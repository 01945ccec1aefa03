"""The store's second judgement of every pushed entry: may its operator write it, and does it
keep the card's rules that need no clock.

A desk checks rights before it writes (app/services/operators); the store checks again,
because a desk may be old, misconfigured or hostile. Once the store holds at least one
operator account (before that, desks work as they always did: entries name free-text
operators), each entry a desk pushes is judged against

* the role its `operator` held **at the entry's time** (its stamp), from the account entries
  the store holds: an operator with no account, one not yet added or disabled at that time,
  or one whose roles lack the right (`app.protocol.rights.entry_rights`) is refused. Rights
  come from the account, never from the payload (a ``card.priority`` that says
  ``"role": "shift_lead"`` changes nothing);
* the desk's machinery (`MACHINE_ACTORS`: the ladder, the SLA watch, the doors) may write
  what machinery writes, never what only a person decides (`person_only`);
* a script's token (`token:NAME`, app/protocol/tokens.py): the token in force at the
  entry's time (created before it, not yet revoked, not expired), holding the entry's right,
  and never a person's decision (a priority, a close, a review, a handover, an account);
* the card's rules that need no other entry (`card_rule_problem`): a close carries its
  closure fields. (A status the model knows is the catalogue's check; a number in the
  desk's own series is push.py's.)

A refused entry is **kept**: stored under its seq with ``set_aside`` = REFUSED_PREFIX + the
reason, answered "rejected" with that reason (the pushing desk lists it as refused in `sync
status`), and pulled by every other desk as a placeholder that it sets aside. Its effect is
applied nowhere; nothing is silently dropped, and every desk sees the same.

The accounts and tokens are read once per push, inside its transaction, and updated as the
batch's own account entries are accepted, so an account (or a token) added and used in one
push works.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from app.models.entry import Entry
from app.protocol.accounts import accounts, held_at
from app.protocol.catalogue import OPERATORS_CARD, SIGNIN_KINDS
from app.protocol.rights import (
    REFUSED_PREFIX,
    Right,
    RoleRights,
    card_rule_problem,
    entry_rights,
    is_machine,
    person_only,
)
from app.protocol.tokens import token_name, token_problem, tokens
from app.store.tables import entries

_PRIORITY_KINDS = ("card.registered", "card.priority")


@dataclass(frozen=True)
class _Fact:
    """An entry as the account fold reads it."""

    kind: str
    payload: Mapping[str, Any]
    hlc: str
    operator: str


def _time(hlc: str) -> str:
    ms = int(hlc.split(".", 1)[0])
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


class Authoriser:
    """The store's rights table; `begin` gives one push transaction's judge."""

    def __init__(self, table: RoleRights) -> None:
        self.table = table

    def begin(self, conn: Connection) -> Judge:
        rows = conn.execute(
            select(entries.c.kind, entries.c.payload, entries.c.hlc, entries.c.operator)
            .where(entries.c.card_id == OPERATORS_CARD, entries.c.set_aside.is_(None))).all()
        facts = [_Fact(r.kind, json.loads(r.payload), r.hlc, r.operator) for r in rows
                 if r.kind not in SIGNIN_KINDS]
        return Judge(conn, self.table, facts)


class Judge:
    def __init__(self, conn: Connection, table: RoleRights, facts: list[_Fact]) -> None:
        self._conn = conn
        self.table = table
        self._facts = facts
        self.accounts = accounts(facts)
        self.tokens = tokens(facts)
        # card id -> (stamp, priority) of registrations and priority changes in this batch
        self._pending: dict[str, list[tuple[str, str]]] = {}

    @property
    def enforcing(self) -> bool:
        return bool(self.accounts)

    def verdict(self, entry: Entry) -> str | None:
        """Why `entry` is refused (without REFUSED_PREFIX); None when it may be stored."""
        if not self.enforcing:
            return None
        kind, payload, who = entry.kind, entry.payload, entry.operator
        problem = card_rule_problem(kind, payload)
        if problem is not None:
            return problem
        name = token_name(who)
        if name is not None:
            priority = self._priority(entry) if kind == "card.status" else None
            return token_problem(self.tokens.get(name), name, kind, payload, entry.hlc,
                                 entry_rights(kind, payload, priority))
        if is_machine(who):
            if person_only(kind, payload):
                return (f"{who!r} is the desk's machinery; only a signed-in person may write "
                        f"{kind}")
            return None
        account = self.accounts.get(who)
        if account is None:
            return f"operator {who[:80]!r} has no account at this store"
        step = held_at(account, entry.hlc)
        if step is None:
            return f"operator {who} had no account yet at {_time(entry.hlc)}"
        if not step.enabled:
            return f"operator {who} was disabled at {_time(entry.hlc)}"
        if kind in SIGNIN_KINDS or (kind == "operator.pin_set" and payload.get("id") == who):
            if kind == "operator.signed_in" and payload.get("id") != who:
                return "a sign-in is written by the account that signs in"
            return None  # one's own sign-in, or one's own new PIN
        priority = self._priority(entry) if kind == "card.status" else None
        needed = entry_rights(kind, payload, priority)
        have = self.table.rights_of(step.roles)
        missing = [r for r in Right if r in needed and r not in have]
        if not missing:
            return None
        return (f"{self.table.needs(missing[0])}; {who} held "
                f"{self.table.labels(step.roles)} at {_time(entry.hlc)}")

    def accepted(self, entry: Entry) -> None:
        """Note an entry this batch stores: later entries are judged with it."""
        if entry.card_id == OPERATORS_CARD:
            self._facts.append(_Fact(entry.kind, entry.payload, entry.hlc, entry.operator))
            self.accounts = accounts(self._facts)
            self.tokens = tokens(self._facts)
        elif entry.kind in _PRIORITY_KINDS:
            self._pending.setdefault(entry.card_id, []).append(
                (entry.hlc, str(entry.payload["priority"])))

    def _priority(self, entry: Entry) -> str | None:
        """The card's priority just before `entry` (only a close asks: close_p1_p2)."""
        if entry.payload.get("status") != "closed":
            return None
        rows = self._conn.execute(
            select(entries.c.hlc, entries.c.payload).where(
                entries.c.card_id == entry.card_id, entries.c.kind.in_(_PRIORITY_KINDS),
                entries.c.set_aside.is_(None))).all()
        known = [(r.hlc, str(json.loads(r.payload).get("priority"))) for r in rows]
        earlier = sorted(p for p in known + self._pending.get(entry.card_id, [])
                         if p[0] < entry.hlc)
        return earlier[-1][1] if earlier else None


__all__ = ["REFUSED_PREFIX", "Authoriser", "Judge"]
