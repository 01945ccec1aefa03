"""The journal's sync bookkeeping: pulled pages, the outbox, card numbers, entries set aside.

A mixin of `Journal` (app/models/journal.py), split out so each module stays readable; every
method here runs in one journal transaction like the rest of the journal's writes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from app.clock import Clock
from app.errors import NotFoundError, ValidationError
from app.models import db, quarantine, remote
from app.models.entry import Entry, HybridClock
from app.models.projection import CardState, fold
from app.protocol.catalogue import CATALOGUE_VERSION
from app.protocol.rights import REFUSED_PREFIX

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
_UPSERT_CARD_RAW = _UPSERT_CARD.text
_ENTRY_COLUMNS = remote.ENTRY_COLUMNS
_SET_META_RAW = (
    "INSERT INTO desk_meta (key, value) VALUES (?, ?)"
    " ON CONFLICT(key) DO UPDATE SET value=excluded.value"
)
# Sync bookkeeping (app/sync/engine.py).
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


_entry = remote.entry_from_row
log = logging.getLogger(__name__)
#: desk_meta key: the catalogue version the stored entries were last checked against.
CATALOGUE_KEY = "catalogue"


def upsert_parking(cur: sqlite3.Cursor, state: CardState) -> None:
    params = card_params(state)
    # A desk restored from an old backup reissues numbers until the store's rename reaches us;
    # park the newcomer on a unique column value meanwhile.
    if cur.execute(_NUMBER_HELD.text, params).fetchone():
        params["number"] = f"{state['number']}/{state['id'][:8]}"
    cur.execute(_UPSERT_CARD_RAW, params)


def card_params(state: CardState) -> dict[str, Any]:
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



def not_authorised(reason: str) -> bool:
    """Whether a set-aside reason is the store's refusal for rights (kept there, applied on
    no desk), not a shape or a fold problem."""
    return REFUSED_PREFIX.strip() in reason


class SyncLedger:
    """What `Journal` does for the sync engine (see the module docstring)."""

    path: Path
    desk_id: str
    _engine: Engine
    _clock: Clock
    _hlc: HybridClock
    own_seqs: set[int]

    def get_meta(self, key: str) -> str | None:
        raise NotImplementedError

    def all_entries(self, after_seq: int = 0, limit: int | None = None) -> Iterator[Entry]:
        raise NotImplementedError

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        raise NotImplementedError

    def apply_remote(
        self,
        entries: Iterable[Entry],
        cursor: tuple[str, str] | None = None,
        set_aside: Sequence[quarantine.SetAside] = (),
        touched: set[str] | None = None,
    ) -> int:
        """Store entries that came from the store (and, with them, the pull cursor and what the
        page set aside), folding every card they touch so arrival order never matters.
        Returns how many entries were new."""
        # Raw sqlite3 on the pull path too: a reconnecting desk applies thousands of entries.
        with db.raw_write(self._engine, self.path) as cur:
            set_aside = self._own_refused(cur, set_aside, touched)
            added = remote.apply_page(cur, entries, set_aside, self._hlc, self._now_iso(),
                                      upsert_parking, self.own_seqs, touched)
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
        self.record_push(acks)

    def record_push(self, acks: dict[str, int], refused: Sequence[quarantine.SetAside] = (),
                    counter: tuple[str, int] | None = None) -> None:
        """One push reply in one transaction: the store's seqs, the refused entries (out of
        the outbox, listed with the reason) and the card-number counter it holds for us.

        An entry refused for rights ("refused: not authorised", app/store/authorise.py) is
        kept by the store and applied by no other desk, so it leaves this desk's cards too:
        its row goes and its card is folded again, while the set-aside record keeps the
        whole entry (listed, on the card's timeline, discarded with a reason). Any other
        refusal (a shape an older store does not know) stays applied here until resolved:
        a retry may fix it."""
        with db.raw_write(self._engine, self.path) as cur:
            cur.executemany("UPDATE entries SET server_seq=? WHERE id=?",
                            [(s, i) for i, s in acks.items()])
            cur.executemany("UPDATE entries SET server_seq=-1 WHERE id=?",
                            [(item.id,) for item in refused])
            quarantine.record(cur, list(refused), self._now_iso())
            self._unapply(cur, [i.id for i in refused if not_authorised(i.reason)])
            if counter is not None:
                cur.execute(_RAISE_COUNTER.text,
                            {"k": f"counter:{counter[0]}", "v": str(int(counter[1]))})

    # -- entries set aside (app/models/quarantine.py) ------------------------------------

    def _now_iso(self) -> str:
        return self._clock.now().isoformat()


    def set_aside(self, *, include_resolved: bool = False) -> list[quarantine.SetAside]:
        with db.read_connection(self._engine, self.path) as conn:
            return quarantine.listing(conn, include_resolved=include_resolved)

    def set_aside_item(self, item_id: str) -> quarantine.SetAside:
        with db.read_connection(self._engine, self.path) as conn:
            found = quarantine.get(conn, item_id)
        if found is None:
            raise NotFoundError(f"nothing with id {item_id} is set aside at this desk; "
                                "see dispatch-desk journal quarantine")
        return found

    def sync_counts(self) -> tuple[int, dict[str, int]]:
        """The outbox size and the unresolved set-aside entries per direction, read together
        (the sync status asks for both after every push and pull)."""
        with db.read_connection(self._engine, self.path) as conn:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM entries WHERE server_seq IS NULL").scalar()
            return int(waiting or 0), quarantine.counts(conn)

    def set_aside_counts(self) -> dict[str, int]:
        with db.read_connection(self._engine, self.path) as conn:
            return quarantine.counts(conn)

    def resolve_set_aside(self, item_id: str, resolution: str, *, resend: bool = False,
                          drop: bool = False) -> None:
        """Mark a set-aside entry resolved. `resend` puts a refused own entry back in the
        outbox (after its cause was fixed); `drop` takes it out of this desk's cards (it stays
        in the set-aside list), so the desk shows what every other desk shows."""
        with db.raw_write(self._engine, self.path) as cur:
            done = cur.execute("UPDATE set_aside SET resolved_at=?, resolution=? WHERE id=? AND"
                               " resolved_at IS NULL", (self._now_iso(), resolution, item_id))
            if not done.rowcount:
                raise NotFoundError(f"{item_id} is not set aside (or already resolved)")
            if resend:
                cur.execute("UPDATE entries SET server_seq=NULL WHERE id=? AND server_seq=-1",
                            (item_id,))
            row = cur.execute("SELECT card_id FROM entries WHERE id=? AND server_seq=-1",
                              (item_id,)).fetchone()
            if drop and row is not None:
                cur.execute("DELETE FROM entries WHERE id=?", (item_id,))
                self._refold(cur, [str(row[0])])

    def _unapply(self, cur: sqlite3.Cursor, ids: Sequence[str]) -> set[str]:
        """Take own entries out of the journal and fold their cards again; returns the
        cards."""
        cards: set[str] = set()
        for entry_id in ids:
            row = cur.execute("SELECT card_id FROM entries WHERE id=?", (entry_id,)).fetchone()
            if row is not None:
                cur.execute("DELETE FROM entries WHERE id=?", (entry_id,))
                cards.add(str(row[0]))
        self._refold(cur, cards)
        return cards

    def _own_refused(self, cur: sqlite3.Cursor, items: Sequence[quarantine.SetAside],
                     touched: set[str] | None) -> list[quarantine.SetAside]:
        """A pulled placeholder of one of our own entries that the store refused for rights
        (its push reply was lost, or another process pushed it): recorded as refused with
        the whole entry, and taken out of the cards, as `record_push` does."""
        out: list[quarantine.SetAside] = []
        for item in items:
            row = cur.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id=? AND desk_id=?",
                              (item.id, self.desk_id)).fetchone() \
                if not_authorised(item.reason) else None
            if row is None:
                out.append(item)
                continue
            mine = _entry(row)
            quarantine.record(cur, [quarantine.from_raw(mine.to_wire(), item.seq, item.reason,
                                                        quarantine.REFUSED)], self._now_iso())
            cards = self._unapply(cur, [mine.id])
            if touched is not None:
                touched.update(cards)
        return out

    def _refold(self, cur: sqlite3.Cursor, card_ids: Iterable[str]) -> None:
        for card_id in sorted(set(card_ids)):
            rows = cur.execute(remote.CARD_ENTRIES, (card_id,)).fetchall()
            state = fold([_entry(r) for r in rows])
            if state is None:
                cur.execute("DELETE FROM cards WHERE id=?", (card_id,))
            else:
                upsert_parking(cur, state)

    def _recheck(self) -> None:
        """Once per catalogue version: set aside stored entries the catalogue now refuses
        (written by an older version, or pulled before the store checked them), and re-fold
        the cards they were on, so no reader meets an entry it cannot read."""
        if self.get_meta(CATALOGUE_KEY) == str(CATALOGUE_VERSION):
            return
        bad: list[tuple[Entry, str]] = []
        for entry in self.all_entries():
            try:
                entry.check()
            except ValidationError as exc:
                bad.append((entry, f"this version does not accept it: {exc}"))
                log.warning("entry %s set aside on upgrade: %s", entry.id, exc)
        with db.raw_write(self._engine, self.path) as cur:
            items = []
            for entry, why in bad:
                cur.execute("DELETE FROM entries WHERE id=?", (entry.id,))
                direction = quarantine.LOCAL if entry.desk_id == self.desk_id else \
                    quarantine.PULLED
                items.append(quarantine.from_raw(entry.to_wire(), entry.server_seq,
                                                 why, direction))
            quarantine.record(cur, items, self._now_iso())
            self._refold(cur, (e.card_id for e, _ in bad))
            cur.execute(_SET_META_RAW, (CATALOGUE_KEY, str(CATALOGUE_VERSION)))
        self._reconsider()

    def _reconsider(self) -> None:
        """Apply pulled entries set aside by an older version that this one accepts."""
        now_ok: list[tuple[quarantine.SetAside, Entry]] = []
        for item in self.set_aside():
            entry = quarantine.as_entry(item) if item.direction == quarantine.PULLED else None
            if entry is not None:
                now_ok.append((item, entry))
        if not now_ok:
            return
        self.apply_remote([e for _, e in now_ok])
        for item, _ in now_ok:
            self.resolve_set_aside(item.id, f"applied by catalogue version {CATALOGUE_VERSION}")

