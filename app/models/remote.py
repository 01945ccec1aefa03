"""Applying what the store sent: one page of other desks' entries, in one transaction.

A page is applied in time proportional to the page, not to the cards' history: an entry newer
than everything its card has seen is folded onto the card's stored state (the fold is a left
fold in stamp order, so this is the same result); only an entry that lands in a card's past
re-reads that card's entries. An entry the desk cannot fold is set aside (app/models/
quarantine.py) rather than stopping the page: the cursor moves on with the rest.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from app.models import quarantine
from app.models.entry import Entry, HybridClock
from app.models.projection import CardState, apply, fold

log = logging.getLogger(__name__)

INSERT_FACT = (
    "INSERT OR IGNORE INTO entries"
    " (id, card_id, kind, payload, hlc, desk_id, operator, schema, server_seq)"
    " VALUES (:id, :card_id, :kind, :payload, :hlc, :desk_id, :operator, :schema, :server_seq)"
)
ENTRY_COLUMNS = "id, card_id, kind, payload, hlc, desk_id, operator, schema, server_seq"
CARD_ENTRIES = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE card_id=? ORDER BY hlc, id"
_ACK_IF_WAITING = "UPDATE entries SET server_seq=:s WHERE id=:i AND server_seq IS NULL"
_LOCAL_COPY = ("SELECT server_seq, card_id, kind, payload, hlc, desk_id, operator FROM entries"
               " WHERE id=?")
_REPLACE_COPY = (
    "UPDATE entries SET card_id=:card_id, kind=:kind, payload=:payload, hlc=:hlc,"
    " desk_id=:desk_id, operator=:operator, schema=:schema, server_seq=:server_seq WHERE id=:id"
)
_RESOLVE_REFUSED = ("UPDATE set_aside SET resolved_at=?, resolution='the store holds another"
                    " copy of this fact; that copy replaced ours' WHERE id=? AND"
                    " resolved_at IS NULL")
_DELETE_ENTRY = "DELETE FROM entries WHERE id=?"
# A fold that raises on entries the catalogue accepted is a bug in this version; these are the
# errors such a bug raises. The entries are set aside, never lost, and the page goes on.
FOLD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _content(entry: Entry, payload_json: str) -> tuple[str, str, str, str, str, str]:
    return (entry.card_id, entry.kind, payload_json, entry.hlc, entry.desk_id, entry.operator)


def entry_from_row(row: Any) -> Entry:
    return Entry(id=row[0], card_id=row[1], kind=row[2], payload=json.loads(row[3]), hlc=row[4],
                 desk_id=row[5], operator=row[6], schema=row[7], server_seq=row[8])


def _stored_state(cur: sqlite3.Cursor, card_id: str) -> CardState | None:
    row = cur.execute("SELECT state FROM cards WHERE id=?", (card_id,)).fetchone()
    state: CardState | None = json.loads(row[0]) if row else None
    return state


def _fold_card(cur: sqlite3.Cursor, card_id: str, new: Sequence[Entry]) -> CardState | None:
    """The card's state with `new` (already inserted) applied."""
    state = _stored_state(cur, card_id)
    ordered = sorted(new, key=lambda e: (e.hlc, e.id))
    if state is not None and ordered[0].hlc > state["last_hlc"] and \
            all(e.kind != "card.registered" for e in ordered):
        for entry in ordered:  # all newer than the card's last stamp: fold on
            state = apply(state, entry)
        return state
    rows = cur.execute(CARD_ENTRIES, (card_id,)).fetchall()
    return fold([entry_from_row(r) for r in rows])


def _careful_fold(cur: sqlite3.Cursor, card_id: str,
                  aside: list[quarantine.SetAside]) -> CardState | None:
    """Fold the card entry by entry, setting aside each entry that raises: what is set aside
    depends on the card's entries alone, not on how they were split into pages."""
    state: CardState | None = None
    for row in cur.execute(CARD_ENTRIES, (card_id,)).fetchall():
        entry = entry_from_row(row)
        try:
            state = apply(state, entry)
        except FOLD_ERRORS as exc:
            log.warning("card %s: entry %s set aside: %r", card_id, entry.id, exc)
            cur.execute(_DELETE_ENTRY, (entry.id,))
            aside.append(quarantine.from_raw(
                entry.to_wire(), entry.server_seq,
                f"this desk could not apply it ({type(exc).__name__}: {exc})"))
    return state


def apply_page(
    cur: sqlite3.Cursor,
    entries: Iterable[Entry],
    set_aside: Sequence[quarantine.SetAside],
    hlc: HybridClock,
    noted_at: str,
    upsert_card: Callable[[sqlite3.Cursor, CardState], None],
    own: set[int],
    touched: set[str] | None = None,
) -> int:
    """Insert the page's entries, fold every card they touch, record what is set aside.
    Returns how many entries were new to this journal; `touched` gets the ids of the cards
    that had new ones (not those whose entries were only our own coming back)."""
    added: dict[str, list[Entry]] = {}
    replaced: set[str] = set()
    for entry in entries:
        params = {**entry.to_wire(), "payload": entry.payload_json(),
                  "server_seq": entry.server_seq}
        if cur.execute(INSERT_FACT, params).rowcount:
            own.add(int(cur.lastrowid or 0))
            added.setdefault(entry.card_id, []).append(entry)
            hlc.observe(entry.hlc)
        elif entry.server_seq is not None:
            local = cur.execute(_LOCAL_COPY, (entry.id,)).fetchone()
            if local is not None and tuple(local[1:]) != _content(entry, params["payload"]):
                # The same fact written here with other content (two desks recorded one
                # provider event; the store kept the first copy): the store's copy wins, so
                # every desk holds the same entry.
                cur.execute(_REPLACE_COPY, {**params, "server_seq": entry.server_seq})
                cur.execute(_RESOLVE_REFUSED, (noted_at, entry.id))
                replaced.add(entry.card_id)
                replaced.add(str(local[1]))  # our copy may have named another card
                hlc.observe(entry.hlc)
            else:
                # Our own entry coming back: the store has it, even if its push reply was lost.
                cur.execute(_ACK_IF_WAITING, {"i": entry.id, "s": entry.server_seq})
    aside = list(set_aside)
    for card_id in sorted(set(added) | replaced):
        new = added.get(card_id, [])
        try:
            state = _fold_card(cur, card_id, new) if new and card_id not in replaced else \
                fold([entry_from_row(r) for r in cur.execute(CARD_ENTRIES, (card_id,))])
        except FOLD_ERRORS:
            state = _careful_fold(cur, card_id, aside)
        if state is not None:
            upsert_card(cur, state)
    quarantine.record(cur, aside, noted_at)
    if touched is not None:
        touched.update(added)
        touched.update(replaced)
    return sum(len(v) for v in added.values())
