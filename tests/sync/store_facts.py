"""The store's own facts in the entry stream, for tests that count what desks wrote.

Every enrolment and revocation is an entry the store writes itself (`store.desk_enrolled`,
`store.desk_revoked` under the pseudo card DESKS_CARD, desk id `store-<store_id>`; see
app/store/desk_facts.py); it takes a seq and every desk pulls it. Tests that check "each entry
stored exactly once" or "the pull brought exactly these" use these helpers to leave exactly
those facts out, rather than adding a magic +1 per enrolment.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from app.models.entry import Entry
from app.protocol.catalogue import DESKS_CARD
from app.store.database import reading
from app.store.desk_facts import store_desk_id
from app.store.storage import Store
from app.store.tables import entries

ENROLLED = "store.desk_enrolled"


def store_fact_count(store: Store) -> int:
    """How many entries the store wrote itself (its desk facts): they hold seq numbers too."""
    with reading(store.engine, store.url) as conn:
        count = conn.execute(select(func.count()).select_from(entries)
                             .where(entries.c.desk_id == store_desk_id(conn)))
        return int(count.scalar_one())


def desk_entries_seq(store: Store) -> int:
    """The store's head less the seq numbers its own facts took: what the head would be if
    only desks' entries were numbered (an entry stored twice, or a number burnt, still shows)."""
    return store.position().seq - store_fact_count(store)


def is_store_fact(entry: Entry) -> bool:
    return entry.card_id == DESKS_CARD


def without_store_facts(pulled: Iterable[Entry]) -> list[Entry]:
    """The pulled entries desks wrote, in the order pulled."""
    return [e for e in pulled if not is_store_fact(e)]


def store_facts(pulled: Iterable[Entry]) -> list[Entry]:
    """The store's own facts among pulled entries, in the order pulled."""
    return [e for e in pulled if is_store_fact(e)]
