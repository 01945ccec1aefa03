"""Stored entries judged again by the entry catalogue, once per catalogue version.

The store never rewrites an entry. An entry stored by an older version that checked less (a
lone surrogate, a payload no desk can fold, a stamp far ahead of when it was stored) is not
deleted either: it keeps its seq and is marked `set_aside` with the reason, and pulls send it
as a placeholder, so every desk sets the same entry aside and moves its cursor past it. An
entry a newer catalogue accepts again loses the mark.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, LargeBinary, String, cast, select, update
from sqlalchemy.engine import URL

from app.errors import ValidationError
from app.protocol.catalogue import CATALOGUE_VERSION, MAX_STAMP_AHEAD_S
from app.store.authorise import REFUSED_PREFIX
from app.store.database import reading, writing
from app.store.tables import entries, store_meta
from app.sync.protocol import parse_wire_entry

log = logging.getLogger(__name__)
META_KEY = "catalogue"
_BATCH = 2000


def entry_columns(sqlite: bool) -> list[Any]:
    """The entries table's columns, text ones read as bytes on SQLite: an older store kept
    whatever text a desk sent, and one byte that is not UTF-8 would stop the read (the store's
    start, every pull that reaches the row). PostgreSQL's text is always valid UTF-8."""
    if not sqlite:
        return list(entries.c)
    return [cast(c, LargeBinary).label(c.name) if isinstance(c.type, String) else c
            for c in entries.c]


def decode(raw: Any) -> Any:
    """A column value as text (bytes that are not UTF-8 become lone surrogates, which the
    catalogue then refuses by name)."""
    if isinstance(raw, bytes | memoryview):
        return bytes(raw).decode("utf-8", "surrogateescape")
    return raw


class Row:
    """A stored row with its text decoded (columns as attributes, like SQLAlchemy's rows)."""

    def __init__(self, row: Any) -> None:
        self._values = {str(k): decode(v) for k, v in row._mapping.items()}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


def verdict(row: Any) -> str | None:
    """Why a stored row cannot go to desks as an entry; None if it can."""
    try:
        payload = json.loads(row.payload)
        wire = {"id": row.id, "card_id": row.card_id, "kind": row.kind, "payload": payload,
                "hlc": row.hlc, "desk_id": row.desk_id, "operator": row.operator,
                "schema": row.schema}
        entry = parse_wire_entry(wire)
        json.dumps(payload, ensure_ascii=False).encode("utf-8")  # what a pull reply does
        stored = datetime.fromisoformat(row.stored_at.replace("Z", "+00:00"))
        if (entry.at - stored).total_seconds() > MAX_STAMP_AHEAD_S:
            return (f"hlc was stamped {(entry.at - stored).total_seconds():,.0f} s after the "
                    "store received it (a desk clock far ahead)")
    except ValidationError as exc:
        return exc.message
    except (ValueError, TypeError, UnicodeError) as exc:
        return f"unreadable ({type(exc).__name__})"
    return None


def recheck(engine: Engine, url: URL) -> int:
    sqlite = url.get_backend_name() == "sqlite"
    """Mark (or unmark) every stored entry; returns how many are set aside now."""
    with reading(engine, url) as conn:
        done = conn.execute(select(store_meta.c.value).where(store_meta.c.key == META_KEY))
        if done.scalar() == str(CATALOGUE_VERSION):
            return -1
    after, marked = 0, 0
    while True:
        with reading(engine, url) as conn:
            rows = [Row(r) for r in conn.execute(
                select(*entry_columns(sqlite)).where(entries.c.seq > after)
                .order_by(entries.c.seq).limit(_BATCH))]
        if not rows:
            break
        changes = []
        for row in rows:
            if str(row.set_aside or "").startswith(REFUSED_PREFIX):
                marked += 1  # refused for rights when pushed: a newer catalogue changes nothing
                continue
            reason = verdict(row)
            marked += reason is not None
            if reason != row.set_aside:
                changes.append((row.seq, reason))
        if changes:
            with writing(engine, url) as conn:
                for seq, reason in changes:
                    conn.execute(update(entries).where(entries.c.seq == seq)
                                 .values(set_aside=reason))
        after = rows[-1].seq
    with writing(engine, url) as conn:
        have = conn.execute(select(store_meta.c.value).where(store_meta.c.key == META_KEY))
        if have.first() is None:
            conn.execute(store_meta.insert().values(key=META_KEY, value=str(CATALOGUE_VERSION)))
        else:
            conn.execute(update(store_meta).where(store_meta.c.key == META_KEY)
                         .values(value=str(CATALOGUE_VERSION)))
    if marked:
        log.warning("%d stored entries are set aside (the catalogue refuses them)", marked)
    return marked
