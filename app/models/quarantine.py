"""Entries set aside: kept, shown, never applied, never a wedge.

Three ways an entry ends up here, each with the reason in words:

    pulled    another desk's entry that this desk cannot apply (the catalogue refuses its
              shape, the store marked it unreadable, or folding it failed). The pull cursor
              moves past it, so one entry never stops a desk's sync; the judgement looks at
              the entry alone, so every desk sets aside the same ones.
    refused   this desk's own entry that the store answered "rejected". It stays in the
              journal (the dispatcher saw it saved) but leaves the outbox (seq -1).
    local     this desk's own entry that a newer catalogue no longer accepts (found when the
              journal is opened by a newer version); moved here, the card re-folded.

Each stays listed (`dispatch-desk journal quarantine`, `sync status`, the window's strip) until
an operator resolves it: retry (after the cause is fixed, or by a version that understands it)
or discard with a reason, which is itself a journal entry (`sync.discarded`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from app.errors import ValidationError
from app.models.entry import Entry

PULLED = "pulled"
REFUSED = "refused"
LOCAL = "local"
DIRECTIONS = (PULLED, REFUSED, LOCAL)

_INSERT_RAW = (
    "INSERT OR IGNORE INTO set_aside (id, direction, seq, card_id, kind, raw, reason, noted_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLUMNS = "id, direction, seq, card_id, kind, raw, reason, noted_at, resolved_at, resolution"


@dataclass(frozen=True)
class SetAside:
    """One entry set aside, as it arrived (`raw` is whatever JSON value it was)."""

    id: str
    direction: str
    seq: int | None
    card_id: str | None
    kind: str | None
    raw: Any
    reason: str
    noted_at: str = ""
    resolved_at: str | None = None
    resolution: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "direction": self.direction, "seq": self.seq,
                "card_id": self.card_id, "kind": self.kind, "reason": self.reason,
                "noted_at": self.noted_at, "resolved_at": self.resolved_at,
                "resolution": self.resolution, "entry": self.raw}


def _short(value: Any, limit: int) -> str | None:
    """A printable id or kind from untrusted JSON (None when it is not a string)."""
    if not isinstance(value, str):
        return None
    return value.encode("ascii", "backslashreplace").decode()[:limit]


def from_raw(raw: Any, seq: int | None, reason: str, direction: str = PULLED) -> SetAside:
    """A set-aside record for an entry as received; its id falls back to its seq."""
    obj = raw if isinstance(raw, dict) else {}
    entry_id = _short(obj.get("id"), 80) or f"seq:{seq}"
    return SetAside(entry_id, direction, seq, _short(obj.get("card_id"), 80),
                    _short(obj.get("kind"), 80), raw, reason[:2000])


def _raw_json(value: Any) -> str:
    # ensure_ascii: a lone surrogate or a NUL is stored as an escape, so the row is always
    # valid text whatever the entry held.
    return json.dumps(value, ensure_ascii=True, sort_keys=True, default=repr)


def record(cur: sqlite3.Cursor, items: list[SetAside], noted_at: str) -> int:
    """Insert set-aside records inside the caller's transaction; the first reason noted for an
    id stays (a page pulled twice does not add a second record)."""
    added = 0
    for item in items:
        params = (item.id, item.direction, item.seq, item.card_id, item.kind,
                  _raw_json(item.raw), item.reason, noted_at)
        added += cur.execute(_INSERT_RAW, params).rowcount
    return added


def _row(row: Any) -> SetAside:
    return SetAside(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7],
                    row[8], row[9])


def listing(conn: Connection, *, include_resolved: bool = False) -> list[SetAside]:
    where = "" if include_resolved else " WHERE resolved_at IS NULL"
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM set_aside{where} ORDER BY noted_at, id"))
    return [_row(r) for r in rows]


def get(conn: Connection, item_id: str) -> SetAside | None:
    row = conn.execute(text(f"SELECT {_COLUMNS} FROM set_aside WHERE id=:i"),
                       {"i": item_id}).first()
    return _row(row) if row else None


def counts(conn: Connection) -> dict[str, int]:
    """Unresolved records per direction (every direction present, 0 when none)."""
    rows = conn.execute(text(
        "SELECT direction, count(*) FROM set_aside WHERE resolved_at IS NULL GROUP BY direction"
    ))
    found = {str(r[0]): int(r[1]) for r in rows}
    return {d: found.get(d, 0) for d in DIRECTIONS}


_WIRE = ("id", "card_id", "kind", "payload", "hlc", "desk_id", "operator", "schema")


def as_entry(item: SetAside) -> Entry | None:
    """The set-aside entry, if it is a whole entry that this version's catalogue accepts."""
    raw = item.raw
    if not isinstance(raw, dict) or any(k not in raw for k in _WIRE):
        return None
    try:
        entry = Entry(id=raw["id"], card_id=raw["card_id"], kind=raw["kind"],
                      payload=raw["payload"], hlc=raw["hlc"], desk_id=raw["desk_id"],
                      operator=raw["operator"], schema=raw["schema"], server_seq=item.seq)
        if not all(isinstance(getattr(entry, k), str) for k in _WIRE if k not in
                   ("payload", "schema")) or not isinstance(entry.payload, dict):
            return None
        entry.check()
    except (ValidationError, TypeError, ValueError):
        return None
    return entry
