"""The central store's use cases over its database: identity, enrolment, push, pull.

Blocking calls only (SQLAlchemy Core); the routes run them on worker threads and do the
long-poll waiting on the event loop, so a waiting desk holds no thread and no connection.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from app.clock import Clock, SystemClock
from app.errors import SyncError
from app.models.entry import Entry
from app.models.quarantine import from_raw
from app.roles import load_roles
from app.store import enrol as enrolment
from app.store import signed
from app.store.authorise import Authoriser
from app.store.database import make_store_engine, migrate, parse_db_url, reading, writing
from app.store.enrol import DeskRecord
from app.store.notify import PgListener, Wakeup, announce
from app.store.push import check_entries, store_batch
from app.store.recheck import Row, entry_columns, recheck
from app.store.signed import DeskCall
from app.store.tables import desks, entries, seq_counter, store_meta
from app.sync.protocol import (
    HEARTBEAT_EVERY_S,
    MAX_CLOCK_SKEW_S,
    Cursor,
    Enrollment,
    Health,
    PullPage,
    PushReply,
    format_cursor,
    format_time,
    parse_cursor,
)


class ClockSkew(SyncError):
    """The desk's clock is too far from the store's; nothing was stored."""

    def __init__(self, offset_s: float) -> None:
        super().__init__(
            f"the desk clock is {offset_s:+.0f} s off the store's (limit {MAX_CLOCK_SKEW_S:.0f} s);"
            " set the desk's time (NTP) and sync again"
        )
        self.offset_s = offset_s


class CursorForeign(SyncError):
    """A cursor from another store, or from before this store was restored from a backup."""


class Store:
    def __init__(self, db_url: str, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.url = parse_db_url(db_url)
        self.engine = make_store_engine(self.url)
        migrate(self.engine, self.url)
        recheck(self.engine, self.url)
        # The rights every pushed entry is judged by (app/store/authorise.py): the file that
        # $DISPATCH_DESK_ROLES names, else the shipped app/defaults/roles.toml.
        self.authoriser = Authoriser(load_roles())
        self.wakeup = Wakeup()
        self._seen: dict[str, datetime] = {}
        self._pruned_at = datetime.min.replace(tzinfo=UTC)  # expired nonces: prune at once
        self.shared = self.url.get_backend_name() == "postgresql"
        self.sqlite = self.url.get_backend_name() == "sqlite"
        self._listener = PgListener(self.url, self.wakeup) if self.shared else None

    def start(self) -> None:
        if self._listener is not None:
            self._listener.start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self.engine.dispose()

    # -- identity -------------------------------------------------------------------------

    def position(self) -> Cursor:
        """This store's id, epoch and head, read together (another process may have started
        a new epoch or moved the head since the last request)."""
        with reading(self.engine, self.url) as conn:
            meta = dict(conn.execute(select(store_meta.c.key, store_meta.c.value)).tuples().all())
            head = conn.execute(select(seq_counter.c.last_seq).where(seq_counter.c.id == 1))
            return Cursor(meta["store_id"], int(meta["epoch"]), int(head.scalar_one()))

    def health(self) -> Health:
        here = self.position()
        return Health(
            "ok", here.store_id, here.epoch, here.seq, self.clock.now(), self.wakeup.waiting
        )

    def new_epoch(self) -> int:
        """Start a new epoch (after restoring a backup): every desk's cursor becomes foreign,
        so each pulls everything again and re-pushes what the backup lost."""
        with writing(self.engine, self.url) as conn:
            epoch = int(
                conn.execute(
                    select(store_meta.c.value).where(store_meta.c.key == "epoch").with_for_update()
                ).scalar_one()
            )
            conn.execute(
                update(store_meta).where(store_meta.c.key == "epoch").values(value=str(epoch + 1))
            )
        return epoch + 1

    # -- desks ----------------------------------------------------------------------------

    def add_desk_code(self, name: str, desk_id: str | None = None) -> str:
        with writing(self.engine, self.url) as conn:
            return enrolment.add_code(conn, name, self.clock.now(), desk_id)

    def revoke_desk(self, desk_id: str, reason: str = "", by: str = "") -> None:
        """Refuse the desk's credential at once (403, with when) and write the
        ``store.desk_revoked`` fact, in one transaction; every desk's audit lists it."""
        with writing(self.engine, self.url) as conn:
            enrolment.revoke(conn, desk_id, self.clock.now(), reason=reason, by=by)
        self.wakeup.wake()

    def enrol(self, body: dict[str, Any]) -> Enrollment:
        code, desk_code, name, desk_id = enrolment.check_request(body)
        with writing(self.engine, self.url) as conn:
            desk_id, secret = enrolment.enrol(
                conn, code, desk_code, name, desk_id, self.clock.now()
            )
        here = self.position()
        return Enrollment(desk_id, secret, here.store_id, here.epoch)

    def authenticate(self, call: DeskCall) -> tuple[DeskRecord, bytes]:
        """The desk that signed `call`, and its key (app/store/signed.py); Refused if the
        time, the signature, the desk or the nonce is not right. Nothing is cached: a desk
        revoked a moment ago is refused at once, on every process."""
        now = self.clock.now()
        signed.check_time(call, now)
        with writing(self.engine, self.url) as conn:
            found = signed.verify(conn, call)
            if (now - self._pruned_at).total_seconds() >= signed.PRUNE_EVERY_S:
                signed.prune(conn, now)
                self._pruned_at = now
        return found

    # -- sync -----------------------------------------------------------------------------

    def push(self, desk: DeskRecord, desk_time: datetime, raw_entries: list[Any]) -> PushReply:
        now = self.clock.now()
        offset = (desk_time - now).total_seconds()
        if abs(offset) > MAX_CLOCK_SKEW_S:
            raise ClockSkew(offset)
        checked = check_entries(raw_entries, desk, now)
        with writing(self.engine, self.url) as conn:
            outcome = store_batch(conn, checked, desk, now, self.authoriser)
            if outcome.stored and self.shared:
                announce(conn, outcome.head)
        if outcome.stored:
            self.wakeup.wake()
        return PushReply(self.clock.now(), outcome.results, outcome.desk_counter)

    def append_own(self, made: list[Entry], author: DeskRecord) -> int:
        """Entries the store itself makes (Twilio's webhooks): stored like a push, woken
        polls and all, skipping the desk checks (the store is their author)."""
        if not made:
            return 0
        with writing(self.engine, self.url) as conn:
            outcome = store_batch(conn, list(made), author, self.clock.now())
            if outcome.stored and self.shared:
                announce(conn, outcome.head)
        if outcome.stored:
            self.wakeup.wake()
        return outcome.stored

    def seen(self, desk: DeskRecord) -> None:
        """Record the desk's heartbeat, at most every HEARTBEAT_EVERY_S per process."""
        now = self.clock.now()
        last = self._seen.get(desk.desk_id)
        if last is not None and (now - last).total_seconds() < HEARTBEAT_EVERY_S:
            return
        self._seen[desk.desk_id] = now
        with writing(self.engine, self.url) as conn:
            conn.execute(update(desks).where(desks.c.desk_id == desk.desk_id)
                         .values(last_seen=format_time(now)))

    def desks(self) -> list[dict[str, Any]]:
        """Every enrolled desk with its last heartbeat (None: not seen since enrolment)."""
        with reading(self.engine, self.url) as conn:
            rows = conn.execute(select(desks.c.desk_id, desks.c.name, desks.c.desk_code,
                                       desks.c.last_seen).where(desks.c.revoked.is_(False))
                                .order_by(desks.c.desk_code, desks.c.desk_id)).all()
        return [{"desk_id": r.desk_id, "name": r.name, "desk_code": r.desk_code,
                 "last_seen": r.last_seen} for r in rows]

    def check_cursor(self, after: str) -> Cursor:
        """The cursor as this store's position; CursorForeign if it names another store or
        epoch, or a position beyond the head (a store restored from an older backup)."""
        cursor = parse_cursor(after)
        here = self.position()
        if cursor is None:
            return Cursor(here.store_id, here.epoch, 0)
        if (cursor.store_id, cursor.epoch) != (here.store_id, here.epoch):
            raise CursorForeign(
                f"cursor {after} is from store {cursor.store_id} epoch {cursor.epoch}, this is "
                f"{here.store_id} epoch {here.epoch}; pull from '' again and re-push the journal"
            )
        if cursor.seq > here.seq:
            raise CursorForeign(
                f"cursor {after} is beyond this store's head; the store was restored from a "
                "backup: pull from '' again and re-push the journal"
            )
        return cursor

    def pull(self, cursor: Cursor, limit: int) -> PullPage:
        with reading(self.engine, self.url) as conn:
            rows = [Row(r) for r in conn.execute(
                select(*entry_columns(self.sqlite))
                .where(entries.c.seq > cursor.seq)
                .order_by(entries.c.seq)
                .limit(limit + 1)
            )]
        page = tuple(
            Entry(r.id, r.card_id, r.kind, json.loads(r.payload), r.hlc, r.desk_id, r.operator,
                  r.schema, int(r.seq))
            for r in rows[:limit] if r.set_aside is None
        )
        # Set-aside entries go as placeholders: the desks learn the seq and the reason, never
        # a payload they could not read (app/store/recheck.py).
        aside = tuple(from_raw({"id": r.id, "card_id": r.card_id, "kind": r.kind}, int(r.seq),
                               r.set_aside) for r in rows[:limit] if r.set_aside is not None)
        last = int(rows[:limit][-1].seq) if rows else cursor.seq
        next_cursor = format_cursor(Cursor(cursor.store_id, cursor.epoch, last))
        return PullPage(page, next_cursor, len(rows) > limit, aside)
