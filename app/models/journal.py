"""The desk's journal: append entries and keep the card projection, in one transaction.

This is the only module that writes the journal file. A write stamps each new entry with the
desk's hybrid logical clock, inserts it, and updates the projected card row, all under one
BEGIN IMMEDIATE ... COMMIT with synchronous=FULL: when `write` returns, the change is on disk.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from app.clock import Clock
from app.errors import JournalError, NotFoundError
from app.models import db
from app.models.entry import SCHEMA_VERSION, Entry, HybridClock, NewEntry, uuid7
from app.models.projection import OPEN_STATUSES, CardState, apply, fold

_INSERT_ENTRY = text(
    "INSERT INTO entries (id, card_id, kind, payload, hlc, desk_id, operator, schema, server_seq)"
    " VALUES (:id, :card_id, :kind, :payload, :hlc, :desk_id, :operator, :schema, :server_seq)"
)
_INSERT_FACT = text(
    "INSERT OR IGNORE INTO entries"
    " (id, card_id, kind, payload, hlc, desk_id, operator, schema, server_seq)"
    " VALUES (:id, :card_id, :kind, :payload, :hlc, :desk_id, :operator, :schema, :server_seq)"
)
_UPSERT_CARD = text(
    "INSERT INTO cards (id, number, status, priority, category, site, registered_at, state,"
    " last_hlc) VALUES (:id, :number, :status, :priority, :category, :site, :registered_at,"
    " :state, :last_hlc) ON CONFLICT(id) DO UPDATE SET number=CASE WHEN EXISTS (SELECT 1"
    " FROM cards c WHERE c.number=excluded.number AND c.id<>excluded.id) THEN cards.number"
    " ELSE excluded.number END,"  # a parked card (see apply_remote) stays parked
    " status=excluded.status, priority=excluded.priority, category=excluded.category,"
    " site=excluded.site, registered_at=excluded.registered_at, state=excluded.state,"
    " last_hlc=excluded.last_hlc"
)
# The same statements for the raw sqlite3 cursor of the write path.
_INSERT_ENTRY_RAW = _INSERT_ENTRY.text
_INSERT_FACT_RAW = _INSERT_FACT.text
_UPSERT_CARD_RAW = _UPSERT_CARD.text
# The counter is text in desk_meta; one statement bumps it and returns the new value.
_NEXT_NUMBER_RAW = (
    "INSERT INTO desk_meta (key, value) VALUES (?, '1')"
    " ON CONFLICT(key) DO UPDATE SET value=CAST(value AS INTEGER) + 1 RETURNING value"
)
_ENTRY_COLUMNS = "id, card_id, kind, payload, hlc, desk_id, operator, schema, server_seq"
_CARD_ENTRIES_RAW = f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE card_id=? ORDER BY hlc, id"
_SET_META_RAW = (
    "INSERT INTO desk_meta (key, value) VALUES (?, ?)"
    " ON CONFLICT(key) DO UPDATE SET value=excluded.value"
)
# Sync bookkeeping (app/sync/engine.py).
_ACK_IF_WAITING = text("UPDATE entries SET server_seq=:s WHERE id=:i AND server_seq IS NULL")
_NUMBER_HELD = text("SELECT 1 FROM cards WHERE number=:number AND id != :id")
_SETTLE_NUMBERS = (
    "UPDATE cards SET number=json_extract(state, '$.number') WHERE number LIKE '%/%'"
    " AND json_extract(state, '$.number') NOT IN (SELECT number FROM cards)"
    " AND id=(SELECT min(c.id) FROM cards c WHERE c.number LIKE '%/%'"
    " AND json_extract(c.state, '$.number')=json_extract(cards.state, '$.number'))"
)
_RAISE_COUNTER = text(
    "INSERT INTO desk_meta (key, value) VALUES (:k, :v) ON CONFLICT(key) DO UPDATE"
    " SET value=CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)"
)
_REQUEUE_OWN = text("UPDATE entries SET server_seq=NULL WHERE desk_id=:d")


def _entry(row: Any) -> Entry:
    return Entry(
        id=row[0],
        card_id=row[1],
        kind=row[2],
        payload=json.loads(row[3]),
        hlc=row[4],
        desk_id=row[5],
        operator=row[6],
        schema=row[7],
        server_seq=row[8],
    )


def _card_params(state: CardState) -> dict[str, Any]:
    return {
        "id": state["id"],
        "number": state["number"],
        "status": state["status"],
        "priority": state["priority"],
        "category": state["category"] or "",
        "site": state["site"] or "",
        "registered_at": state["registered_at"],
        "state": json.dumps(state, sort_keys=True, separators=(",", ":")),
        "last_hlc": state["last_hlc"],
    }


class Journal:
    """One journal file. Open it with `Journal.open`; it migrates an older file first."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._engine = db.make_engine(path)
        db.migrate(self._engine, path)
        with db.write_transaction(self._engine, path) as conn:
            self.desk_id = self._meta(conn, "desk_id") or self._init_meta(conn, "desk_id")
            self._desk_code = self._meta(conn, "desk_code") or "A"
            last = conn.execute(text("SELECT max(hlc) FROM entries")).scalar()
        self._hlc = HybridClock(clock, self.desk_id, last)

    @classmethod
    def open(cls, path: Path | str, clock: Clock) -> Journal:
        p = Path(path)
        if p.exists() and p.is_file():
            with p.open("rb") as fh:
                head = fh.read(16)
            if head and not head.startswith(b"SQLite format 3"):
                raise JournalError(f"{p} is not a Dispatch Desk journal (not a SQLite database)")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"cannot create the journal folder {p.parent}: {exc}") from exc
        return cls(p, clock)

    def use_clock(self, clock: Clock) -> None:
        """Stamp later entries with another clock (the demo walks a fake one through the past)."""
        self._clock = clock
        self._hlc = HybridClock(clock, self.desk_id, self._hlc.last)

    def close(self) -> None:
        self._engine.dispose()

    # -- desk identity --------------------------------------------------------------------

    def _meta(self, conn: Connection, key: str) -> str | None:
        row = conn.execute(text("SELECT value FROM desk_meta WHERE key=:k"), {"k": key}).first()
        return str(row[0]) if row else None

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        conn.execute(
            text(
                "INSERT INTO desk_meta (key, value) VALUES (:k, :v)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value"
            ),
            {"k": key, "v": value},
        )

    def _init_meta(self, conn: Connection, key: str) -> str:
        value = "d" + secrets.token_hex(6)
        self._set_meta(conn, key, value)
        return value

    @property
    def desk_code(self) -> str:
        return self._desk_code

    def set_desk_code(self, code: str) -> None:
        with db.write_transaction(self._engine, self.path) as conn:
            self._set_meta(conn, "desk_code", code)
        self._desk_code = code

    def get_meta(self, key: str) -> str | None:
        with db.read_connection(self._engine, self.path) as conn:
            return self._meta(conn, key)

    def set_meta(self, key: str, value: str) -> None:
        with db.write_transaction(self._engine, self.path) as conn:
            self._set_meta(conn, key, value)

    # -- writing --------------------------------------------------------------------------

    def _next_number(self, cur: sqlite3.Cursor) -> str:
        key = f"counter:{self._desk_code}"
        row = cur.execute(_NEXT_NUMBER_RAW, (key,)).fetchone()
        return f"{self._desk_code}-{int(row[0]):04d}"

    def write(self, new: Sequence[NewEntry], operator: str) -> list[Entry]:
        """Append entries and update the cards they touch; durable when this returns.

        A `card.registered` entry without a number gets the desk's next card number here,
        inside the transaction, so two processes on one journal never hand out the same one.
        Entries with a preset id (derived facts) are skipped if the journal already has them.
        """
        return self._write(new, operator)[0]

    def write_card(self, new: Sequence[NewEntry], operator: str) -> CardState:
        """Like `write`, for entries on one card; returns that card's state after the write
        (saving the read a caller would otherwise make to show the result)."""
        entries, states = self._write(new, operator)
        state = states.get(new[0].card_id) if new else None
        if state is None:
            raise NotFoundError(f"no card with id {new[0].card_id if new else '?'}")
        return state

    def _write(
        self, new: Sequence[NewEntry], operator: str
    ) -> tuple[list[Entry], dict[str, CardState | None]]:
        written: list[Entry] = []
        states: dict[str, CardState | None] = {}
        with db.raw_write(self._engine, self.path) as cur:
            for item in new:
                payload = item.payload
                if item.kind == "card.registered" and "number" not in payload:
                    payload = {**payload, "number": self._next_number(cur)}
                entry = Entry(
                    id=item.id or uuid7(int(self._clock.now().timestamp() * 1000)),
                    card_id=item.card_id,
                    kind=item.kind,
                    payload=payload,
                    hlc=self._hlc.tick(),
                    desk_id=self.desk_id,
                    operator=operator,
                    schema=SCHEMA_VERSION,
                )
                params = {**entry.to_wire(), "payload": entry.payload_json(), "server_seq": None}
                if item.id is not None:
                    if cur.execute(_INSERT_FACT_RAW, params).rowcount == 0:
                        continue
                else:
                    cur.execute(_INSERT_ENTRY_RAW, params)
                if item.kind == "card.registered" and item.id is None:
                    states[entry.card_id] = None  # a fresh card id: nothing to load
                elif entry.card_id not in states:
                    row = cur.execute(
                        "SELECT state FROM cards WHERE id=?", (entry.card_id,)
                    ).fetchone()
                    states[entry.card_id] = json.loads(row[0]) if row else None
                state = apply(states[entry.card_id], entry)
                states[entry.card_id] = state
                if state is not None:
                    cur.execute(_UPSERT_CARD_RAW, _card_params(state))
                written.append(entry)
        return written, states

    def apply_remote(self, entries: Iterable[Entry], cursor: tuple[str, str] | None = None) -> int:
        """Store entries that came from the store (and, with them, the pull cursor), re-folding
        every card they touch so arrival order never matters. Returns how many were new."""
        added = 0
        # Raw sqlite3 on the pull path too: a reconnecting desk applies thousands of entries.
        with db.raw_write(self._engine, self.path) as cur:
            touched: set[str] = set()
            for entry in entries:
                params = {**entry.to_wire(), "payload": entry.payload_json()}
                params["server_seq"] = entry.server_seq
                if cur.execute(_INSERT_FACT_RAW, params).rowcount:
                    added += 1
                    touched.add(entry.card_id)
                    self._hlc.observe(entry.hlc)
                elif entry.server_seq is not None:
                    # Our own entry coming back: the store has it, even if its push reply was lost.
                    cur.execute(_ACK_IF_WAITING.text, {"i": entry.id, "s": entry.server_seq})
            for card_id in sorted(touched):
                rows = cur.execute(_CARD_ENTRIES_RAW, (card_id,)).fetchall()
                state = fold([_entry(r) for r in rows])
                if state is not None:
                    params = _card_params(state)
                    # A desk restored from an old backup reissues numbers until the store's
                    # rename reaches us; park the newcomer on a unique column value meanwhile.
                    if cur.execute(_NUMBER_HELD.text, params).fetchone():
                        params["number"] = f"{state['number']}/{state['id'][:8]}"
                    cur.execute(_UPSERT_CARD_RAW, params)
            cur.execute(_SETTLE_NUMBERS)
            if cursor is not None:
                cur.execute(_SET_META_RAW, cursor)
        return added

    def settle_numbers(self) -> None:
        """Give parked cards (see `apply_remote`) their own number once it is free again."""
        with db.write_transaction(self._engine, self.path) as conn:
            conn.exec_driver_sql(_SETTLE_NUMBERS)

    def raise_counter(self, code: str, at_least: int) -> None:
        """Move the card-number counter of `code` to at least `at_least` (never back): the
        store has seen numbers this desk issued before it was restored from a backup."""
        with db.write_transaction(self._engine, self.path) as conn:
            conn.execute(_RAISE_COUNTER, {"k": f"counter:{code}", "v": str(int(at_least))})

    def requeue_own(self, cursor_key: str) -> int:
        """Forget the store's acknowledgements of this desk's entries and its pull cursor, in
        one transaction: a store restored from a backup gets everything of ours again."""
        with db.write_transaction(self._engine, self.path) as conn:
            count = conn.execute(_REQUEUE_OWN, {"d": self.desk_id}).rowcount
            self._set_meta(conn, cursor_key, "")
        return int(count)

    # -- reading --------------------------------------------------------------------------

    def _load_state(self, conn: Connection, card_id: str) -> CardState | None:
        row = conn.execute(text("SELECT state FROM cards WHERE id=:id"), {"id": card_id}).first()
        return json.loads(row[0]) if row else None

    def _entries(self, conn: Connection, card_id: str) -> list[Entry]:
        rows = conn.execute(
            text(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE card_id=:c ORDER BY hlc, id"),
            {"c": card_id},
        )
        return [_entry(r) for r in rows]

    def card(self, card_id: str) -> CardState:
        with db.read_connection(self._engine, self.path) as conn:
            state = self._load_state(conn, card_id)
        if state is None:
            raise NotFoundError(f"no card with id {card_id}")
        return state

    def card_by_number(self, number: str) -> CardState:
        with db.read_connection(self._engine, self.path) as conn:
            row = conn.execute(
                text("SELECT state FROM cards WHERE number=:n"), {"n": number.upper()}
            ).first()
        if row is None:
            raise NotFoundError(f"no card {number} in this journal")
        state: CardState = json.loads(row[0])
        return state

    def cards(
        self, *, open_only: bool = False, site: str | None = None, category: str | None = None
    ) -> list[CardState]:
        """Card states; `site` (any case) and `category` narrow in SQL, on indexed columns."""
        where, params = [], {}
        if open_only:
            where.append("status IN (" + ",".join(f"'{s}'" for s in OPEN_STATUSES) + ")")
        if site is not None:
            where.append("site = :site COLLATE NOCASE")
            params["site"] = site.strip()
        if category is not None:
            where.append("category = :category")
            params["category"] = category
        sql = "SELECT state FROM cards" + (" WHERE " + " AND ".join(where) if where else "")
        with db.read_connection(self._engine, self.path) as conn:
            return [json.loads(r[0]) for r in conn.execute(text(sql), params)]

    def count_cards(self) -> int:
        with db.read_connection(self._engine, self.path) as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM cards").scalar() or 0)

    def entries(self, card_id: str) -> list[Entry]:
        with db.read_connection(self._engine, self.path) as conn:
            return self._entries(conn, card_id)

    def has_entry(self, entry_id: str) -> bool:
        with db.read_connection(self._engine, self.path) as conn:
            found = conn.execute(text("SELECT 1 FROM entries WHERE id=:i"), {"i": entry_id})
            return found.first() is not None

    def all_entries(self, after_seq: int = 0, limit: int | None = None) -> Iterator[Entry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE seq > :s ORDER BY seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with db.read_connection(self._engine, self.path) as conn:
            rows = conn.execute(text(sql), {"s": after_seq}).all()
        return (_entry(r) for r in rows)

    def outbox(self, limit: int = 500) -> list[Entry]:
        """Entries the store has not acknowledged yet, oldest first."""
        sql = f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE server_seq IS NULL ORDER BY seq LIMIT :n"
        with db.read_connection(self._engine, self.path) as conn:
            return [_entry(r) for r in conn.execute(text(sql), {"n": limit})]

    def outbox_size(self) -> int:
        with db.read_connection(self._engine, self.path) as conn:
            sql = "SELECT count(*) FROM entries WHERE server_seq IS NULL"
            return int(conn.exec_driver_sql(sql).scalar() or 0)

    def mark_acknowledged(self, acks: dict[str, int]) -> None:
        with db.write_transaction(self._engine, self.path) as conn:
            conn.execute(
                text("UPDATE entries SET server_seq=:s WHERE id=:i"),
                [{"i": i, "s": s} for i, s in acks.items()],
            )

    # -- verification ---------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Rebuild every card from the entries in memory and list where the tables differ."""
        by_card: dict[str, list[Entry]] = {}
        for entry in self.all_entries():
            by_card.setdefault(entry.card_id, []).append(entry)
        stored = {c["id"]: c for c in self.cards()}
        problems: list[str] = []
        for card_id, entries in by_card.items():
            rebuilt = fold(entries)
            if rebuilt is None:
                continue
            have = stored.pop(card_id, None)
            if have is None:
                problems.append(f"card {rebuilt['number']} is in the entries but not in the table")
                continue
            for key in sorted(set(rebuilt) | set(have)):
                if rebuilt.get(key) != have.get(key):
                    problems.append(
                        f"card {rebuilt['number']}: {key} is {have.get(key)!r} in the table, "
                        f"{rebuilt.get(key)!r} from the entries"
                    )
        for orphan in stored.values():
            problems.append(f"card {orphan['number']} is in the table but has no entries")
        return problems

    def integrity_check(self) -> str:
        with db.read_connection(self._engine, self.path) as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
