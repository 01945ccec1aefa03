"""Accepting a pushed batch: per-entry checks, idempotency, seq in commit order, card numbers.

Each entry is judged on its own: one that is malformed, not the caller's, or of an unknown kind
is answered "rejected" with a reason, and the entries behind it are still stored. An id the
store already holds is answered "duplicate" with the seq it was first given (a replay with
different content is rejected: the store never rewrites an entry).

Sequence numbers come from the one-row `seq_counter`, read FOR UPDATE at the start of the
transaction. The row lock is held to commit, so pushes on any process take their numbers in the
order they commit, and a reader never sees seq N+1 while N is still uncommitted. (SQLite
serialises writers with BEGIN IMMEDIATE, which gives the same guarantee.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from app.errors import ValidationError
from app.models.entry import Entry
from app.protocol.catalogue import COUNTER_MAX
from app.store import intake_store
from app.store.authorise import REFUSED_PREFIX, Authoriser
from app.store.enrol import DeskRecord
from app.store.tables import card_numbers, desk_counters, entries, renumbers, seq_counter
from app.sync.protocol import (
    DUPLICATE,
    REJECTED,
    RENUMBER_KIND,
    STORED,
    UUID_RE,
    PushResult,
    card_number_parts,
    check_stamp_ahead,
    format_time,
    parse_wire_entry,
)

# SQLite allows 32,766 bound parameters; IN lists stay far below it.
_IN_CHUNK = 500
_NUMBERED_KINDS = ("card.registered", RENUMBER_KIND)


@dataclass(frozen=True)
class PushOutcome:
    results: tuple[PushResult, ...]
    desk_counter: int
    head: int  # the last seq after this push (unchanged if nothing was stored)
    stored: int


def _raw_id(raw: Any) -> str:
    """The id to answer a rejected entry with: only an id a desk could have made."""
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and UUID_RE.fullmatch(value) else ""


def check_entries(raw_entries: Sequence[Any], desk: DeskRecord,
                  now: datetime) -> list[Entry | PushResult]:
    """Shape (the entry catalogue), stamp and author checks, done before the transaction so
    the counter lock stays short."""
    checked: list[Entry | PushResult] = []
    for raw in raw_entries:
        try:
            if isinstance(raw, dict) and "seq" in raw:
                raise ValidationError("seq is the store's to give; push entries without it")
            entry = parse_wire_entry(raw)
            check_stamp_ahead(entry, now)
        except ValidationError as exc:
            checked.append(PushResult(_raw_id(raw), REJECTED, None, exc.message))
            continue
        if entry.desk_id != desk.desk_id:
            reason = (
                f"desk_id {entry.desk_id} is not the caller; a desk pushes only its own entries"
            )
            checked.append(PushResult(entry.id, REJECTED, None, reason))
            continue
        checked.append(entry)
    return checked


def _series(entry: Entry) -> str:
    parts = card_number_parts(str(entry.payload["number"]))
    return parts[0] if parts else ""


def _same(entry: Entry, row: Any) -> bool:
    return bool(
        row.card_id == entry.card_id
        and row.kind == entry.kind
        and row.hlc == entry.hlc
        and row.desk_id == entry.desk_id
        and row.operator == entry.operator
        and json.loads(row.payload) == entry.payload
    )


def _known(conn: Connection, ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for row in conn.execute(select(entries).where(entries.c.id.in_(chunk))):
            found[row.id] = row
    return found


class _Numbers:
    """Card numbers within one push transaction: who holds each number, and each desk code's
    highest counter. A number already held by another card gets the next free one."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def counter(self, code: str) -> int:
        value = self._conn.execute(
            select(desk_counters.c.counter).where(desk_counters.c.desk_code == code)
        ).scalar()
        return int(value or 0)

    def _raise_counter(self, code: str, value: int) -> None:
        have = self._conn.execute(
            select(desk_counters.c.counter).where(desk_counters.c.desk_code == code)
        ).scalar()
        if have is None:
            self._conn.execute(insert(desk_counters).values(desk_code=code, counter=value))
        elif value > int(have):
            self._conn.execute(
                update(desk_counters).where(desk_counters.c.desk_code == code).values(counter=value)
            )

    def claim(self, entry: Entry) -> str | None:
        """Record the entry's card number; returns the new number if it had to be renumbered."""
        number = str(entry.payload["number"])
        parts = card_number_parts(number)
        assert parts is not None  # parse_wire_entry checked the shape
        code, value = parts
        holder = self._conn.execute(
            select(card_numbers.c.card_id).where(card_numbers.c.number == number)
        ).scalar()
        if holder is None or holder == entry.card_id:
            if holder is None:
                self._conn.execute(
                    insert(card_numbers).values(number=number, card_id=entry.card_id)
                )
            self._raise_counter(code, value)
            return None
        fresh = max(self.counter(code), value) + 1
        if fresh > COUNTER_MAX:
            raise ValidationError(f"desk code {code} has used every card number up to "
                                  f"{COUNTER_MAX:,}; give the desk a new desk code",
                                  field="number")
        new_number = f"{code}-{fresh:04d}"
        self._conn.execute(insert(card_numbers).values(number=new_number, card_id=entry.card_id))
        self._conn.execute(insert(renumbers).values(entry_id=entry.id, number=new_number))
        self._raise_counter(code, fresh)
        return new_number

    def renumbered(self, entry_id: str) -> str | None:
        value = self._conn.execute(
            select(renumbers.c.number).where(renumbers.c.entry_id == entry_id)
        ).scalar()
        return None if value is None else str(value)


def _row(entry: Entry, seq: int, stored_at: str) -> dict[str, Any]:
    return {"seq": seq, "id": entry.id, "card_id": entry.card_id, "kind": entry.kind,
            "payload": entry.payload_json(), "hlc": entry.hlc, "desk_id": entry.desk_id,
            "operator": entry.operator, "schema": entry.schema, "stored_at": stored_at}


def store_batch(
    conn: Connection, checked: list[Entry | PushResult], desk: DeskRecord, now: datetime,
    authoriser: Authoriser | None = None,
) -> PushOutcome:
    """Store the checked batch inside the caller's write transaction. With `authoriser` (a
    desk's push), each new entry is judged for rights too (app/store/authorise.py): a refused
    one is stored set aside and answered "rejected" with its seq; the store's own entries
    come without one."""
    last = int(
        conn.execute(
            select(seq_counter.c.last_seq).where(seq_counter.c.id == 1).with_for_update()
        ).scalar_one()
    )
    start = last
    known = _known(conn, [e.id for e in checked if isinstance(e, Entry)])
    numbers = _Numbers(conn)
    judge = authoriser.begin(conn) if authoriser is not None else None
    given: dict[str, tuple[int, Entry]] = {}
    held_back: dict[str, str] = {}  # id -> why it was refused (stored set aside)
    rows: list[dict[str, Any]] = []
    results: list[PushResult] = []
    stored_at = format_time(now)
    for item in checked:
        if isinstance(item, PushResult):
            results.append(item)
            continue
        entry = item
        numbered = entry.kind in _NUMBERED_KINDS
        if entry.id in known:
            row = known[entry.id]
            if not _same(entry, row):
                reason = f"id {entry.id} is already stored with other content; entries never change"
                results.append(PushResult(entry.id, REJECTED, None, reason))
            elif str(row.set_aside or "").startswith(REFUSED_PREFIX):
                # Sent again (a retry): still refused, as the first time.
                results.append(PushResult(entry.id, REJECTED, int(row.seq), row.set_aside))
            else:
                hint = numbers.renumbered(entry.id) if numbered else None
                results.append(PushResult(entry.id, DUPLICATE, int(row.seq), None, hint))
            continue
        if entry.id in given:
            seq, first = given[entry.id]
            if first == entry and entry.id in held_back:
                results.append(PushResult(entry.id, REJECTED, seq, held_back[entry.id]))
            elif first == entry:
                results.append(PushResult(entry.id, DUPLICATE, seq))
            else:
                reason = f"id {entry.id} comes twice in this batch with other content"
                results.append(PushResult(entry.id, REJECTED, None, reason))
            continue
        series = None
        if numbered and desk.desk_code and _series(entry) != desk.desk_code:
            # Checked only for new entries: a desk enrolled again under another code still
            # re-sends its old cards (duplicates) after a store restore.
            series = (f"payload.number {entry.payload['number']} is not in this desk's "
                      f"series ({desk.desk_code}-...); a desk numbers only its own cards "
                      "(enrol it again if its desk code changed)")
            if judge is None or not judge.enforcing:
                results.append(PushResult(entry.id, REJECTED, None, series))
                continue
        refused = series or (judge.verdict(entry) if judge is not None else None)
        last += 1
        given[entry.id] = (last, entry)
        if refused is not None:
            # Kept, never applied: stored set aside, so every desk sets aside the same entry.
            reason = held_back[entry.id] = REFUSED_PREFIX + refused
            rows.append({**_row(entry, last, stored_at), "set_aside": reason})
            results.append(PushResult(entry.id, REJECTED, last, reason))
            continue
        try:
            hint = numbers.claim(entry) if numbered else None
        except ValidationError as exc:
            last -= 1
            del given[entry.id]
            results.append(PushResult(entry.id, REJECTED, None, exc.message))
            continue
        rows.append({**_row(entry, last, stored_at), "set_aside": None})
        if judge is not None:
            judge.accepted(entry)
        results.append(PushResult(entry.id, STORED, last, None, hint))
    if rows:
        conn.execute(insert(entries), rows)
        conn.execute(update(seq_counter).where(seq_counter.c.id == 1).values(last_seq=last))
        # the doors' keys and open items, in this transaction (never from a refused entry)
        intake_store.project(conn, [r for r in rows if r["set_aside"] is None])
    return PushOutcome(tuple(results), numbers.counter(desk.desk_code), last, last - start)
