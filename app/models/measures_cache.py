"""Writing the measures' figures cache into the journal file (table `measures_cache`,
revision 0005). What a row holds and when it may be used: app/services/measures/cache.py;
the report reads the rows in its own read transaction (app/services/measures/reading.py).

Why in the journal, not in a file beside it: a row is only good with the entries it was
computed from, and the journal is where those are. A row and the entries it depends on are
read in one read transaction, a backup or a copy of the journal carries the rows that fit
it, and the triggers of revision 0005 drop a card's row in the same transaction that takes
one of its entries out or replaces one. A separate file could be left beside another
journal (a restored backup with the same desk and seqs) and be believed.

Rows are written after a report, in batches of BATCH, each its own short BEGIN IMMEDIATE ...
COMMIT: a year's 100,000 rows never hold the journal's write lock more than milliseconds at a
time, so a card action waits at most one batch. Each batch checks that the generation is
still the one the report read (no entry taken out or replaced since), and each row is only
written while its card's highest entry seq is the one it was computed from (a new entry
since: not written). After that the triggers of revision 0005 drop a row whenever its
card's entries change, so the reader trusts a row that is there. The rows are a copy: when
they cannot be written the report is no worse, and a later one computes again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from app.models import db

GENERATION_KEY = "measures_cache:generation"  # moved by the triggers of revision 0005
# The triggers a row's trust rests on: without any of them (a journal migrated by a build
# from before they were all there) the cache is neither read nor written.
TRIGGERS = ("measures_cache_entry_added", "measures_cache_entry_deleted",
            "measures_cache_entry_replaced")
HAS_TRIGGERS = ("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ("
                + ",".join(f"'{t}'" for t in TRIGGERS) + ")")
BATCH = 2000

_UPSERT = (
    "INSERT OR REPLACE INTO measures_cache (card_id, last_seq, basis, registered_us, "
    "closed_us, review_owed, review, figures) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 "
    "WHERE (SELECT max(seq) FROM entries WHERE card_id = ?1) = ?2"
)


class CacheRow(NamedTuple):
    card_id: str
    last_seq: int  # the card's highest entry seq its figures were computed from
    basis: str  # measures.cache.basis: the code and the rules they were computed with
    registered_us: int
    closed_us: int
    review_owed: bool
    review: str | None  # the card's review as recorded (JSON), if any
    figures: bytes  # measures.cache.encode


def _generation(cur: sqlite3.Cursor) -> int:
    row = cur.execute("SELECT value FROM desk_meta WHERE key = ?", (GENERATION_KEY,)).fetchone()
    return int(row[0]) if row else 0


def store(path: Path, rows: Sequence[CacheRow], generation: int) -> int:
    """Write `rows` (computed from what was read at `generation`); returns how many were
    written. Raises JournalError when the journal cannot be written (read-only, locked)."""
    engine = db.make_engine(path)
    written = 0
    try:
        for i in range(0, len(rows), BATCH):
            with db.raw_write(engine, path) as cur:
                if cur.execute(HAS_TRIGGERS).fetchone()[0] != len(TRIGGERS):
                    break  # nothing would drop a row when its card changes
                if _generation(cur) != generation:
                    break  # an entry was taken out or replaced since: these rows may be old
                cur.executemany(_UPSERT, rows[i:i + BATCH])
                written += max(0, cur.rowcount)
    finally:
        engine.dispose()
    return written


def clear(path: Path) -> int:
    """Drop every cached row (the next report computes every card); returns how many."""
    engine = db.make_engine(path)
    try:
        with db.raw_write(engine, path) as cur:
            return int(cur.execute("DELETE FROM measures_cache").rowcount)
    finally:
        engine.dispose()
