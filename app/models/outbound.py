"""What the outbound webhooks read from the journal, and where their delivery state is kept.

There is no outbox table: the outbox of a subscription is *the journal after its cursor*.
Every way an entry reaches this journal -- a dispatcher's action, `card new` from another
process, the ladder, a page pulled from the store -- appends a row to `entries` with a higher
local `seq` (SQLite has one writer at a time, so seq order is commit order: a row never
appears behind a cursor that has passed it). A cursor per subscription, kept in `desk_meta`
and moved only after the receiver answered 2xx, therefore loses nothing without touching any
write path, and needs no migration. Delivery state is desk-local bookkeeping (like the sync
cursor), never a journal entry: it must not sync, and a desk restored from backup simply
delivers again (at least once; the receiver de-duplicates on the event id).

The ledger reads on a connection of its own (read-only, like the journal watch), so the
delivery thread never holds the journal's write lock while it waits on a receiver.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from app.models import db
from app.models.entry import Entry
from app.models.journal import Journal
from app.models.remote import ENTRY_COLUMNS, entry_from_row
from app.protocol.catalogue import WEBHOOKS_CARD

#: The entry kinds card events come from (app/services/outbound.py maps them to events).
EVENT_KINDS = ("card.registered", "card.priority", "card.ack", "card.status")
_KINDS = ",".join(f"'{k}'" for k in EVENT_KINDS)
_EVENTS_AFTER = (f"SELECT seq, {ENTRY_COLUMNS} FROM entries WHERE seq > ? AND kind IN ({_KINDS})"
                 " ORDER BY seq LIMIT ?")
_SUBSCRIPTIONS = f"SELECT seq, {ENTRY_COLUMNS} FROM entries WHERE card_id=? ORDER BY seq"
_CARD_ENTRIES = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE card_id=? ORDER BY hlc, id"
_STATE_KEY = "wh:"  # + the subscription's id: desk_meta keys stay under 40 characters


class OutboundLedger:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(
                f"file:{self.journal.path}?mode=ro", uri=True, check_same_thread=False,
                isolation_level=None, timeout=db.BUSY_TIMEOUT_MS / 1000)
            self._conn.execute("PRAGMA query_only=1")
        return self._conn

    def _read(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise db.translate(exc, self.journal.path) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- subscriptions and events -----------------------------------------------------------

    def subscription_entries(self) -> list[tuple[int, Entry]]:
        """The `webhook.*` entries with their local seq (a subscription's events follow it)."""
        rows = self._read(_SUBSCRIPTIONS, (WEBHOOKS_CARD,))
        return [(int(r[0]), entry_from_row(r[1:])) for r in rows]

    def events_after(self, seq: int, limit: int = 50) -> tuple[list[tuple[int, Entry]], int]:
        """Up to `limit` card-event entries after `seq`, and how far the journal was read:
        when fewer came back, everything up to the journal's last seq was looked at (one
        snapshot), so a cursor may move there past entries that are no events."""
        return self.after_query(_EVENTS_AFTER, (), seq, limit)

    def after_query(self, sql: str, params: tuple[object, ...], seq: int, limit: int
                    ) -> tuple[list[tuple[int, Entry]], int]:
        """Rows of `sql` (``SELECT seq, <entry columns> ... WHERE seq > ? ... LIMIT ?``, its
        own `params` between) after `seq`, and how far the journal was read, in one
        snapshot: with fewer than `limit` rows, everything up to the last seq was seen."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN")
                try:
                    rows = conn.execute(sql, (seq, *params, limit)).fetchall()
                    top = int(conn.execute("SELECT coalesce(max(seq), 0) FROM entries")
                              .fetchone()[0])
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise db.translate(exc, self.journal.path) from exc
        found = [(int(r[0]), entry_from_row(r[1:])) for r in rows]
        scanned = found[-1][0] if len(found) == limit else max(top, seq)
        return found, scanned

    def card_entries(self, card_id: str) -> list[Entry]:
        return [entry_from_row(r) for r in self._read(_CARD_ENTRIES, (card_id,))]

    # -- delivery state (desk_meta) --------------------------------------------------------

    def delivery(self, sub_id: str) -> str | None:
        """A subscription's delivery state as JSON (None: nothing delivered yet)."""
        return self.journal.get_meta(_STATE_KEY + sub_id)

    def record(self, sub_id: str, state_json: str) -> None:
        self.journal.set_meta(_STATE_KEY + sub_id, state_json)
