"""The journal queries the triage tray needs: the intake entries (by kind, since a local seq,
on the index of migration 0004) and the few facts of the cards intake items became.

Read-only; the journal (app/models/journal.py) stays the only writer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text

from app.models import db
from app.models.entry import Entry
from app.models.journal import Journal
from app.models.remote import ENTRY_COLUMNS, entry_from_row
from app.protocol.catalogue import INTAKE_KINDS

_KINDS = ",".join(f"'{k}'" for k in sorted(INTAKE_KINDS))  # fixed names, not input
_SINCE = text(f"SELECT seq, {ENTRY_COLUMNS} FROM entries WHERE kind IN ({_KINDS})"
              " AND seq > :s ORDER BY seq")
_CHUNK = 500  # SQLite allows 32,766 parameters; keep statements small anyway


@dataclass(frozen=True)
class CardRow:
    id: str
    number: str
    status: str
    closed_at: str | None


def intake_since(journal: Journal, after_seq: int = 0) -> tuple[list[Entry], int]:
    """Intake entries with a local seq above `after_seq`, and the highest seq seen (or
    `after_seq` when there are none). Entries pulled late have a higher seq whatever their
    stamp, so a reader that keeps the seq misses none."""
    # The journal's engine: this module is the journal's own reader, in the same package.
    with db.read_connection(journal._engine, journal.path) as conn:
        rows = conn.execute(_SINCE, {"s": after_seq}).all()
    if not rows:
        return [], after_seq
    return [entry_from_row(r[1:]) for r in rows], int(rows[-1][0])


def card_rows(journal: Journal, card_ids: Iterable[str]) -> dict[str, CardRow]:
    """Number, status and closing time of each card id that this journal holds."""
    ids = sorted(set(card_ids))
    out: dict[str, CardRow] = {}
    with db.read_connection(journal._engine, journal.path) as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            names = ",".join(f":i{n}" for n in range(len(chunk)))
            rows = conn.execute(
                text(f"SELECT id, number, status, state FROM cards WHERE id IN ({names})"),
                {f"i{n}": value for n, value in enumerate(chunk)})
            for row in rows:
                state = json.loads(row[3])
                out[str(row[0])] = CardRow(str(row[0]), str(state.get("number") or row[1]),
                                           str(row[2]), state.get("closed_at"))
    return out
