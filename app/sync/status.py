"""What the desk knows about its link to the central store, as one immutable value.

The sync engine builds a new `SyncStatus` after every attempt; the window's status strip and
`dispatch-desk sync status` only read it. Per-card confirmation is derived from the journal
(an entry the store has acknowledged carries its server sequence number), not stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from app.models.journal import Journal
from app.models.quarantine import LOCAL, PULLED, REFUSED
from app.protocol.catalogue import MAX_STAMP_AHEAD_S
from app.services.cards.timeline import local_time

#: Journal meta keys the sync side owns.
CURSOR_KEY = "sync.cursor"
STORE_URL_KEY = "sync.store_url"
SYNCED_AT_KEY = "sync.synced_at"  # last time the desk held everything the store had


@dataclass(frozen=True)
class SyncStatus:
    """The link as the person at the desk should understand it."""

    enrolled: bool
    online: bool
    #: When the link last changed between online and offline (None: not tried yet).
    since: datetime | None
    #: Entries written here that the store has not acknowledged yet.
    waiting: int
    #: Last round that pushed and pulled everything.
    last_sync: datetime | None
    #: Store time minus desk time, in seconds (None until measured).
    clock_offset_s: float | None
    #: One line on why the last attempt failed (None when it worked).
    last_error: str | None
    #: True while the store refuses pushes because the clocks disagree.
    clock_skew: bool = False
    #: Entries the store refused (bad shape, no right), until a push goes through clean.
    refused: str | None = None
    store_url: str = ""
    #: Unresolved entries set aside (app/models/quarantine.py): pulled ones this desk cannot
    #: apply (and own ones a newer version refused), and own ones the store refused.
    set_aside: int = 0
    refused_open: int = 0
    #: The desk clock is further from the store's than entries may be stamped ahead.
    clock_off: bool = False

    def with_(self, **changes: Any) -> SyncStatus:
        return replace(self, **changes)

    def summary(self, tz: tzinfo = UTC) -> str:
        """One line for the status strip, e.g. "Online since 10:02 CET · 3 waiting · ...",
        times in the site's zone `tz` and named, so they are never ambiguous."""
        if not self.enrolled:
            return "Local only: not enrolled with a central store"
        parts = [f"{'Online' if self.online else 'Offline'}" + _since(self.since, tz)]
        if self.waiting:
            parts.append(f"{self.waiting} waiting to go")
        elif not self.refused_open:
            parts.append("nothing waiting")
        if self.refused_open:
            parts.append(f"{self.refused_open} refused by the store")
        if self.set_aside:
            parts.append(f"{self.set_aside} set aside")
        if self.refused_open or self.set_aside:
            parts.append("see dispatch-desk journal quarantine")
        if self.clock_off and self.clock_offset_s is not None:
            parts.append(f"DESK CLOCK OFF BY {abs(self.clock_offset_s):.0f} s: set the time")
        parts.append(
            "last sync " + _hms(self.last_sync, tz) if self.last_sync else "never synced"
        )
        if self.clock_offset_s is not None:
            parts.append(f"clock offset {self.clock_offset_s:+.1f} s")
        if self.last_error:
            parts.append(self.last_error)
        if self.refused:
            parts.append(self.refused)
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "enrolled": self.enrolled,
            "store_url": self.store_url,
            "online": self.online,
            "since": _iso(self.since),
            "waiting": self.waiting,
            "last_sync": _iso(self.last_sync),
            "clock_offset_s": self.clock_offset_s,
            "clock_skew": self.clock_skew,
            "last_error": self.last_error,
            "refused": self.refused,
            "refused_open": self.refused_open,
            "set_aside": self.set_aside,
            "clock_off": self.clock_off,
        }


def _hms(moment: datetime, tz: tzinfo) -> str:
    return local_time(moment, tz, seconds=True, day=False)


def _since(moment: datetime | None, tz: tzinfo) -> str:
    return f" since {_hms(moment, tz)}" if moment else ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def with_journal_counts(status: SyncStatus, journal: Journal) -> SyncStatus:
    """`status` with the outbox and the set-aside entries counted now."""
    waiting, counts = journal.sync_counts()
    offset = status.clock_offset_s
    return status.with_(waiting=waiting, refused_open=counts[REFUSED],
                        set_aside=counts[PULLED] + counts[LOCAL],
                        clock_off=offset is not None and abs(offset) > MAX_STAMP_AHEAD_S)


def initial_status(journal: Journal, *, enrolled: bool) -> SyncStatus:
    """The status before this process has talked to the store (read from the journal)."""
    synced = journal.get_meta(SYNCED_AT_KEY)
    return with_journal_counts(SyncStatus(
        enrolled=enrolled,
        online=False,
        since=None,
        waiting=journal.outbox_size(),
        last_sync=datetime.fromisoformat(synced) if synced else None,
        clock_offset_s=None,
        last_error=None,
        store_url=journal.get_meta(STORE_URL_KEY) or "",
    ), journal)


@dataclass(frozen=True)
class CardConfirmation:
    """How far the store has confirmed one card's data."""

    card_id: str
    #: When the desk last held everything the store had and every change to this card was
    #: acknowledged; None while a change is waiting or the card was never synced.
    confirmed_at: datetime | None
    waiting: int


def card_confirmation(journal: Journal, card_id: str) -> CardConfirmation:
    entries = journal.entries(card_id)
    waiting = sum(1 for e in entries if e.server_seq is None)
    synced = journal.get_meta(SYNCED_AT_KEY)
    confirmed = None
    if entries and not waiting and synced:
        confirmed = datetime.fromisoformat(synced)
    return CardConfirmation(card_id, confirmed, waiting)
