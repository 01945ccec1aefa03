"""What the outbox reads from the journal: the entries that ask for messages (after a
desk-local cursor, as the webhooks read their events) and the message entries themselves.
A read-only connection of its own (`OutboundLedger`'s), so reading never takes the write
lock the window and the ladder need."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.models.entry import Entry, format_stamp
from app.models.outbound import OutboundLedger
from app.models.remote import ENTRY_COLUMNS, entry_from_row

CURSOR_KEY = "messages.cursor"
IN_FLIGHT_KEY = "messages.in_flight"


def _kinds(kinds: Sequence[str]) -> str:
    return ",".join("'" + k.replace("'", "") + "'" for k in kinds)


class MessageLedger(OutboundLedger):
    def after(self, seq: int, kinds: Sequence[str], limit: int = 200
              ) -> tuple[list[tuple[int, Entry]], int]:
        """Up to `limit` entries of `kinds` after local seq `seq`, and how far the journal
        was read (one snapshot: the cursor may move there past other kinds)."""
        sql = (f"SELECT seq, {ENTRY_COLUMNS} FROM entries WHERE seq > ? AND kind IN "
               f"({_kinds(kinds)}) ORDER BY seq LIMIT ?")
        return self.after_query(sql, (), seq, limit)

    def top(self) -> int:
        return int(self._read("SELECT coalesce(max(seq), 0) FROM entries", ())[0][0])

    def of_kinds(self, kinds: Sequence[str], card_id: str | None = None,
                 since: datetime | None = None) -> list[Entry]:
        sql = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE kind IN ({_kinds(kinds)})"
        params: list[object] = []
        if card_id is not None:
            sql += " AND card_id = ?"
            params.append(card_id)
        if since is not None:
            sql += " AND hlc >= ?"
            params.append(format_stamp(int(since.timestamp() * 1000), 0, ""))
        return [entry_from_row(r) for r in self._read(sql + " ORDER BY hlc, id", params)]

    def items_of(self, card_id: str) -> dict[str, list[Entry]]:
        """The entries of the intake items that became (or joined) the card."""
        rows = self._read("SELECT DISTINCT card_id FROM entries WHERE kind IN "
                          "('intake.accepted', 'intake.attached') AND "
                          "json_extract(payload, '$.card') = ?", (card_id,))
        return {str(r[0]): self.card_entries(str(r[0])) for r in rows}
