"""The desk's journal: append entries and keep the card projection, in one transaction.

This is the only module that writes the journal file. A write stamps each new entry with the
desk's hybrid logical clock, inserts it, and updates the projected card row, all under one
BEGIN IMMEDIATE ... COMMIT with synchronous=FULL: when `write` returns, the change is on disk.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Connection, text

from app.clock import Clock
from app.errors import JournalError, NotFoundError, ValidationError
from app.models import db, remote
from app.models.entry import SCHEMA_VERSION, Entry, HybridClock, NewEntry, uuid7
from app.models.journal_sync import (
    _ENTRY_COLUMNS,
    _UPSERT_CARD_RAW,
    SyncLedger,
    card_params,
)
from app.models.projection import OPEN_STATUSES, CardState, apply, fold
from app.models.remote import entry_from_row as _entry
from app.protocol.catalogue import COUNTER_MAX, PAYLOAD_MAX_BYTES

_INSERT_ENTRY = text(
    "INSERT INTO entries (id, card_id, kind, payload, hlc, desk_id, operator, schema, server_seq)"
    " VALUES (:id, :card_id, :kind, :payload, :hlc, :desk_id, :operator, :schema, :server_seq)"
)
# The same statements for the raw sqlite3 cursor of the write path.
_INSERT_ENTRY_RAW = _INSERT_ENTRY.text
_INSERT_FACT_RAW = remote.INSERT_FACT  # derived facts: the same statement as pulled entries
# The counter is text in desk_meta; one statement bumps it and returns the new value.
_NEXT_NUMBER_RAW = (
    "INSERT INTO desk_meta (key, value) VALUES (?, '1')"
    " ON CONFLICT(key) DO UPDATE SET value=CAST(value AS INTEGER) + 1 RETURNING value"
)


def _for_people(message: str) -> str:
    for prefix in ("payload.fields.", "payload."):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


class Journal(SyncLedger):
    """One journal file. Open it with `Journal.open`; it migrates an older file first."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._engine = db.make_engine(path)
        db.migrate(self._engine, path)
        # A read first: opening a journal (every `card new` from a hook does) must not take
        # the write lock; only a new journal writes its desk id.
        with db.read_connection(self._engine, path) as conn:
            desk_id = self._meta(conn, "desk_id")
        if desk_id is None:
            with db.write_transaction(self._engine, path) as conn:
                desk_id = self._meta(conn, "desk_id") or self._init_meta(conn, "desk_id")
        self.desk_id = desk_id
        with db.read_connection(self._engine, path) as conn:
            self._desk_code = self._meta(conn, "desk_code") or "A"
            last = conn.execute(text("SELECT max(hlc) FROM entries")).scalar()
        self._hlc = HybridClock(clock, self.desk_id, last)
        #: Local seqs of entries this process wrote, until a JournalWatch has seen them (it
        #: announces only other processes' writes; this process announces its own).
        self.own_seqs: set[int] = set()
        self._recheck()

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
        while True:
            row = cur.execute(_NEXT_NUMBER_RAW, (key,)).fetchone()
            if int(row[0]) > COUNTER_MAX:
                raise JournalError(f"desk code {self._desk_code} has used every card number; "
                                   "give this desk a new desk_code")
            number = f"{self._desk_code}-{int(row[0]):04d}"
            # A number already on a card here (pulled from a store that had it) is skipped.
            if cur.execute("SELECT 1 FROM cards WHERE number=?", (number,)).fetchone() is None:
                return number

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
                if not isinstance(payload, dict):
                    raise ValidationError(f"{item.kind}: payload must be an object",
                                          field="payload")
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
                # The catalogue judges it here, as the store and every other desk will: a
                # value they would refuse is an error in the form now, not a silent park.
                try:
                    entry.check()
                except ValidationError as exc:
                    # Said to a person at the form: the field's name, not the wire path.
                    raise ValidationError(_for_people(exc.message), field=exc.field) from None
                params = {**entry.to_wire(), "payload": entry.payload_json(), "server_seq": None}
                if len(params["payload"]) > PAYLOAD_MAX_BYTES:
                    raise ValidationError(
                        f"the change is {len(params['payload']):,} bytes; the limit is "
                        f"{PAYLOAD_MAX_BYTES:,} (cards carry text, not files)", field="payload")
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
                    cur.execute(_UPSERT_CARD_RAW, card_params(state))
                written.append(entry)
                self.own_seqs.add(int(cur.lastrowid or 0))
        return written, states

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

    def last_seqs(self, *, open_only: bool = False) -> dict[str, int]:
        """card id -> the highest local seq among its entries: it moves whenever an entry for
        the card arrives, whatever its stamp (a cheap "did this card change?")."""
        sql = "SELECT e.card_id, max(e.seq) FROM entries e"
        if open_only:
            sql += (" JOIN cards c ON c.id = e.card_id WHERE c.status IN ("
                    + ",".join(f"'{s}'" for s in OPEN_STATUSES) + ")")
        with db.read_connection(self._engine, self.path) as conn:
            rows = conn.exec_driver_sql(sql + " GROUP BY e.card_id")
            return {str(r[0]): int(r[1]) for r in rows}

    def arrived_after(self, card_id: str, seq: int) -> dict[str, int]:
        """entry id -> local seq of a card's entries that arrived after `seq`."""
        with db.read_connection(self._engine, self.path) as conn:
            rows = conn.exec_driver_sql("SELECT id, seq FROM entries WHERE card_id = ? AND "
                                        "seq > ?", (card_id, seq))
            return {str(r[0]): int(r[1]) for r in rows}

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
