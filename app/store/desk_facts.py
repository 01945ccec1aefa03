"""The store's own facts about desks: ``store.desk_enrolled`` and ``store.desk_revoked``.

Enrolling and revoking a desk change who may write into every desk's journal, so they belong
in the audit trail like an account change. The store writes each as its own entry (desk
`store-<store_id>`, operator "store admin", pseudo card DESKS_CARD) inside the transaction
that enrols or revokes, so the fact and the change commit together or not at all; every desk
pulls it like any entry and `dispatch-desk audit` lists it there. `dispatch-desk server
audit` reads the same trail from the store's entries (`audit_entries`).

The stamp follows the newest desk fact already stored (a HybridClock started from it), so
two facts in one millisecond still sort in the order they were made.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from app.models.entry import SCHEMA_VERSION, Entry, HybridClock, uuid7
from app.protocol.catalogue import DESKS_CARD, check_payload
from app.store import enrol as enrolment
from app.store.database import reading
from app.store.notify import announce
from app.store.push import store_batch
from app.store.tables import entries, store_meta

#: Who the store's desk facts name as their author (a machine actor: the admin's own name is
#: not known to the store; `by` says which OS user ran `server revoke-desk`).
OPERATOR = "store admin"


class _At:
    """The instant of the enrolment or revocation, as a clock for one stamp."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def store_desk_id(conn: Connection) -> str:
    store_id = conn.execute(select(store_meta.c.value).where(store_meta.c.key == "store_id"))
    return f"{enrolment.RESERVED_DESK_PREFIX}{store_id.scalar_one()}"[:40]


def record(conn: Connection, kind: str, payload: dict[str, Any], now: datetime) -> Entry:
    """Write one desk fact inside the caller's transaction (enrol or revoke)."""
    author = enrolment.DeskRecord(store_desk_id(conn), "central store", "")
    last = conn.execute(select(func.max(entries.c.hlc)).where(entries.c.card_id == DESKS_CARD))
    # The stamp is `now`, or just after the newest desk fact.
    hlc = HybridClock(_At(now), author.desk_id, last.scalar()).tick()
    payload = {**payload, "at": now.isoformat()}
    entry = Entry(uuid7(int(now.timestamp() * 1000)), DESKS_CARD, kind, payload, hlc,
                  author.desk_id, OPERATOR, SCHEMA_VERSION)
    check_payload(kind, entry.card_id, payload, entry.hlc)  # ValidationError naming it
    outcome = store_batch(conn, [entry], author, now)
    if outcome.stored and conn.dialect.name == "postgresql":
        announce(conn, outcome.head)  # wakes every store process's long-polls at commit
    return entry


def revoke_desk(store: Any, desk_id: str, reason: str = "", by: str = "") -> None:
    """`server revoke-desk`: refuse the credential and write the fact, in one transaction
    (`store` is an app.store.storage.Store: its clock, engine and wake-up)."""
    store.revoke_desk(desk_id, reason, by)


def audit_entries(store: Any, cards: Iterable[str]) -> list[Entry]:
    """The stored entries of the trail's pseudo cards, in stamp order; refused and set-aside
    entries are left out (their effect is applied nowhere)."""
    with reading(store.engine, store.url) as conn:
        rows = conn.execute(
            select(entries.c.id, entries.c.card_id, entries.c.kind, entries.c.payload,
                   entries.c.hlc, entries.c.desk_id, entries.c.operator, entries.c.schema,
                   entries.c.seq)
            .where(entries.c.card_id.in_(list(cards)), entries.c.set_aside.is_(None))
            .order_by(entries.c.hlc, entries.c.id)).all()
    return [Entry(r.id, r.card_id, r.kind, json.loads(r.payload), r.hlc, r.desk_id,
                  r.operator, r.schema, int(r.seq)) for r in rows]
