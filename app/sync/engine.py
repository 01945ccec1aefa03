"""One desk's sync with the central store: push the outbox, pull what others wrote, apply it.

Push sends unacknowledged entries in batches and records the store's sequence number on each
(an entry the store already had is acknowledged again: pushing is idempotent, so a lost reply
is simply retried). Pull fetches pages after the desk's cursor and applies each page together
with its cursor in ONE journal transaction, so a crash between the two cannot skip or replay
a page. Merging is the projection fold (order-free), so applying twice changes nothing.

Failures never stop the desk: they become the `SyncStatus` the window shows, and the next
attempt waits an exponential backoff with full jitter (clock and random source injected).
`push_outbox` and `pull` may run on two threads at once (a long-poll must not hold back a
push); the status is the only state they share and it sits behind a lock.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.clock import Clock
from app.errors import SyncError, ValidationError
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.models.quarantine import REFUSED, SetAside, from_raw
from app.sync import protocol as p
from app.sync.client import StoreClient, StoreRefused, StoreUnreachable
from app.sync.status import (
    CURSOR_KEY,
    SYNCED_AT_KEY,
    SyncStatus,
    initial_status,
    with_journal_counts,
)

log = logging.getLogger(__name__)

#: Who the journal names as the author of entries the sync itself writes (renumbering).
SYNC_OPERATOR = "sync"


class Backoff:
    """Exponential backoff with full jitter: after the n-th failure in a row, wait a uniform
    random time in [0, min(cap, base * 2**n)] so a hundred desks that lost the same store do
    not all come back in the same second."""

    def __init__(
        self, clock: Clock, rng: random.Random, *, base_s: float = 1.0, cap_s: float = 60.0
    ) -> None:
        self._clock = clock
        self._rng = rng
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self.next_at: datetime | None = None

    def failed(self) -> float:
        delay = self._rng.uniform(0, min(self.cap_s, self.base_s * 2**self.failures))
        self.failures += 1
        self.next_at = self._clock.now() + timedelta(seconds=delay)
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.next_at = None

    def wait_s(self) -> float:
        """Seconds until the next attempt is due (0: now)."""
        if self.next_at is None:
            return 0.0
        return max(0.0, (self.next_at - self._clock.now()).total_seconds())


@dataclass(frozen=True)
class RoundResult:
    pushed: int  # entries the store acknowledged (stored or duplicate)
    pulled: int  # entries new to this journal
    cards: frozenset[str]  # cards the pull touched (for the window's `changed` signal)


class SyncEngine:
    def __init__(
        self,
        journal: Journal,
        client: StoreClient,
        clock: Clock,
        rng: random.Random | None = None,
        *,
        batch: int = 500,
        page: int = p.PULL_LIMIT_DEFAULT,
        on_status: Callable[[SyncStatus], None] | None = None,
    ) -> None:
        if not 1 <= batch <= p.PUSH_BATCH_MAX:
            raise ValidationError(f"batch: use 1..{p.PUSH_BATCH_MAX}", field="batch")
        if not 1 <= page <= p.PULL_LIMIT_MAX:
            raise ValidationError(f"page: use 1..{p.PULL_LIMIT_MAX}", field="page")
        self.journal = journal
        self.client = client
        self._clock = clock
        self.backoff = Backoff(clock, rng or random.Random())
        self.batch = batch
        self.page = page
        #: Called (on the syncing thread) with every new status.
        self.on_status = on_status
        self._lock = threading.Lock()
        self._status = initial_status(journal, enrolled=True).with_(store_url=client.base_url)
        #: Every enrolled desk's last heartbeat, refreshed after pulls (replaced, never mutated).
        self.desks: tuple[p.DeskSeen, ...] = ()
        self._desks_at: datetime | None = None

    # -- status ---------------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        """The last attempt's outcome, with the outbox counted now (actions add to it)."""
        with self._lock:
            status = self._status
        return with_journal_counts(status, self.journal)

    def _update(self, **changes: object) -> SyncStatus:
        with self._lock:
            now = self._clock.now()
            online = changes.get("online", self._status.online)
            if online != self._status.online or self._status.since is None:
                changes["since"] = now
            self._status = with_journal_counts(self._status.with_(**changes), self.journal)
            status = self._status
        if self.on_status is not None:
            self.on_status(status)
        return status

    def _failed(self, exc: SyncError) -> None:
        delay = self.backoff.failed()
        log.info("sync failed (next try in %.1f s): %s", delay, exc)
        if isinstance(exc, StoreRefused) and exc.code == p.ERR_CLOCK_SKEW:
            offset = exc.body.get("offset_s")
            self._update(
                online=True,
                clock_skew=True,
                # The store reports desk minus store; the status shows store minus desk.
                clock_offset_s=-float(offset) if isinstance(offset, int | float) else None,
                last_error=f"cannot send: {exc} (the desk keeps working locally)",
            )
        else:
            self._update(online=isinstance(exc, StoreRefused), last_error=str(exc))

    # -- one round ------------------------------------------------------------------------

    def round(self, wait: float = 0.0) -> RoundResult:
        """Push everything waiting, then pull until caught up. Raises the SyncError that
        stopped it (after recording it in the status and the backoff)."""
        pushed = self.push_outbox()
        pulled, cards = self.pull(wait)
        return RoundResult(pushed, pulled, cards)

    def push_outbox(self) -> int:
        acknowledged = 0
        batch = self.journal.outbox(self.batch)
        if not batch:
            return 0  # nothing to say, and no contact to report on
        refused: list[str] = []
        try:
            while batch:
                for part in _by_size(batch):
                    acknowledged += self._push_batch(part, refused)
                batch = self.journal.outbox(self.batch)
        except SyncError as exc:
            self._failed(exc)
            raise
        self.backoff.succeeded()
        note = None
        if refused:
            note = f"the store refused {len(refused)} entries ({'; '.join(refused[:3])})"
            log.warning("%s", note)
        self._update(online=True, clock_skew=False, last_error=None, refused=note)
        return acknowledged

    def _push_batch(self, batch: Sequence[Entry], refused: list[str]) -> int:
        sent_at = self._clock.now()
        reply = self.client.push(sent_at, batch)
        received_at = self._clock.now()
        # The store's time against the middle of the round trip.
        offset = (reply.server_time - (sent_at + (received_at - sent_at) / 2)).total_seconds()
        acks: dict[str, int] = {}
        by_id = {e.id: e for e in batch}
        parked: list[SetAside] = []
        for result in reply.results:
            if result.status in (p.STORED, p.DUPLICATE) and result.seq is not None:
                acks[result.id] = result.seq
            elif result.id in by_id:
                # A refused entry would block the outbox forever: out of it (seq -1), listed
                # with the store's reason until an operator resolves it.
                reason = f"the store refused it: {result.reason or 'no reason given'}"
                parked.append(from_raw(by_id[result.id].to_wire(), result.seq, reason,
                                       REFUSED))
                refused.append(f"{result.id[:8]}: {result.reason or 'no reason given'}")
        self.journal.record_push(acks, parked, (self.journal.desk_code, reply.desk_counter))
        for result in reply.results:
            if result.renumbered:
                self._renumber(by_id[result.id], result.renumbered)
        self._update(clock_offset_s=round(offset, 3))
        return len(acks)

    def _renumber(self, registered: Entry, number: str) -> None:
        """The store already held this card's number under another card (a desk restored from
        an old backup reissued it): rename the card, as an entry every desk will see."""
        was = registered.payload.get("number")
        if self.journal.card(registered.card_id)["number"] == number:
            return  # already renamed (the hint comes again when a push is repeated)
        self.journal.write(
            [NewEntry(registered.card_id, p.RENUMBER_KIND, {"number": number, "was": was})],
            SYNC_OPERATOR,
        )
        self.journal.settle_numbers()

    def pull(self, wait: float = 0.0) -> tuple[int, frozenset[str]]:
        """Pull pages until the store has no more; only the first request long-polls."""
        added = 0
        cards: set[str] = set()
        try:
            while True:
                cursor = self.journal.get_meta(CURSOR_KEY) or ""
                try:
                    page = self.client.pull(cursor, limit=self.page, wait=wait)
                except StoreRefused as exc:
                    if exc.code != p.ERR_CURSOR_FOREIGN:
                        raise
                    self._store_replaced()
                    continue
                _check_forward(cursor, page.cursor)
                # Only cards with entries new here count: this desk's own entries come back
                # in every pull, and announcing them would wake the ladder for nothing.
                added += self.journal.apply_remote(page.entries, (CURSOR_KEY, page.cursor),
                                                   page.set_aside, cards)
                if page.set_aside:
                    log.warning("set aside %d pulled entries (dispatch-desk journal "
                                "quarantine): %s", len(page.set_aside), page.set_aside[0].reason)
                wait = 0.0
                if not page.more:
                    break
        except SyncError as exc:
            self._failed(exc)
            raise
        self.backoff.succeeded()
        changes: dict[str, object] = {"online": True}
        if self.journal.outbox_size() == 0:
            now = self._clock.now()
            self.journal.set_meta(SYNCED_AT_KEY, now.isoformat())
            changes["last_sync"] = now
        if not self.status.clock_skew:
            changes["last_error"] = None
        self._update(**changes)
        self._refresh_desks()
        return added, frozenset(cards)

    def _refresh_desks(self) -> None:
        """Other desks' heartbeats, at most every HEARTBEAT_EVERY_S; best effort (a failure
        keeps the last list: it only feeds takeover and the wallboard, never the cards)."""
        now = self._clock.now()
        if self._desks_at is not None and (now - self._desks_at).total_seconds() < \
                p.HEARTBEAT_EVERY_S:
            return
        try:
            self.desks = tuple(self.client.desks())
            self._desks_at = now
        except SyncError as exc:
            log.info("desk list not refreshed: %s", exc)

    def heartbeats(self) -> dict[str, datetime]:
        """desk id -> last seen at the store, for the ladder's takeover rule."""
        return {d.desk_id: d.last_seen for d in self.desks if d.last_seen is not None}

    def _store_replaced(self) -> None:
        """The cursor names another store or epoch (restored from a backup, or a new store):
        pull everything again (merging is idempotent) and re-push all of this desk's entries
        (duplicates are acknowledged again), so the store gets back whatever it lost."""
        count = self.journal.requeue_own(CURSOR_KEY)
        log.warning("the store was replaced or restored; pulling again, re-sending %d", count)
        self._update(last_error="the store was restored or replaced; sending everything again")


#: A push body stays well under the store's 16 MiB cap however large the entries are.
PUSH_BYTES_MAX = 8 * 1024 * 1024


def _by_size(batch: Sequence[Entry]) -> list[Sequence[Entry]]:
    """The batch in parts whose payloads add up to at most PUSH_BYTES_MAX (each entry is at
    most 64 KiB, so a part always holds at least one)."""
    parts: list[Sequence[Entry]] = []
    start, size = 0, 0
    for i, entry in enumerate(batch):
        cost = len(entry.payload_json()) + 400  # the envelope around the payload
        if size + cost > PUSH_BYTES_MAX and i > start:
            parts.append(batch[start:i])
            start, size = i, 0
        size += cost
    parts.append(batch[start:])
    return parts


def _check_forward(before: str, after: str) -> None:
    """A cursor within one store epoch only moves forward; anything else is a broken store."""
    old, new = p.parse_cursor(before), p.parse_cursor(after)
    if old is None or new is None:
        return
    if (old.store_id, old.epoch) == (new.store_id, new.epoch) and new.seq < old.seq:
        raise StoreUnreachable(
            f"the store moved this desk's cursor back ({old.seq} -> {new.seq}); not applied"
        )
