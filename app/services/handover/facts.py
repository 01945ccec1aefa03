"""Facts the handover, the break-glass packet and the wallboard take from other parts of the
desk (the rota, the escalation ladders, sync), as small typed inputs.

Each is optional where it is used: a desk without a rota file or a store still prints its
handover, and says on paper that the section has no data rather than leaving it blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A desk whose last contact is older than this is shown as STALE, never as calm.
STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class OnCallLine:
    """Who holds an on-call role now, or next (and from when)."""

    group: str  # the domain or group: "network", "HVAC"
    role: str  # "primary", "backup", "shift lead"
    name: str
    phone: str = ""
    backup_phone: str = ""
    until: datetime | None = None  # for "now": when their turn ends
    starts: datetime | None = None  # for "next": when their turn begins
    is_next: bool = False
    #: Not verified in 30 days (`dispatch-desk roster verify`): the sheet and wallboard say so.
    unverified: bool = False


@dataclass(frozen=True)
class EscalationLine:
    """Where a card's escalation ladder stands."""

    card_id: str
    tier: int
    tiers: int
    paged: str  # who the current tier paged
    paged_at: datetime | None = None
    acknowledged_by: str | None = None
    next_tier_at: datetime | None = None
    #: "held by A. Novak: caller on site" while the dispatcher holds the ladder (no tier
    #: fires until it is resumed); None when it runs.
    held: str | None = None

    @property
    def in_flight(self) -> bool:
        return self.acknowledged_by is None


@dataclass(frozen=True)
class ContactLine:
    """One row of the contact tree printed in the break-glass packet."""

    name: str
    role: str
    phone: str
    backup_phone: str = ""
    note: str = ""


@dataclass(frozen=True)
class DeskLink:
    """One desk's link to the store as last seen."""

    desk: str
    last_seen: datetime | None
    #: The desk's id (the journal's desk_id, a ladder's owner); "" when not known.
    desk_id: str = ""

    def stale(self, now: datetime, after: timedelta = STALE_AFTER) -> bool:
        return self.last_seen is None or now - self.last_seen > after


@dataclass(frozen=True)
class SyncFacts:
    """Data freshness: the last successful sync and the link outages of the shift."""

    last_sync: datetime | None
    outages: Sequence[tuple[datetime, datetime | None]] = ()  # (from, until or None: ongoing)
    desks: Sequence[DeskLink] = ()
    hazards: Sequence[str] = field(default=())  # suppressed or noisy alerts, pager down, ...
    #: The same hazards in a few words, for the wallboard's tiles ("CLOCK OFF 612 s").
    alerts: Sequence[str] = field(default=())

    def link_down_for(self, now: datetime) -> timedelta | None:
        """How long the current outage has lasted, or None when the link is up."""
        ongoing = [start for start, end in self.outages if end is None]
        return now - min(ongoing) if ongoing else None
