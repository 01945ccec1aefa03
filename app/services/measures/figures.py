"""One card's figures: how long each step took, how its clocks stand, what its timeline says.

Durations run from registration (the earliest the card was known):
- reaction: to the first of an acknowledgement, In progress, Restored or Closed -- the moment
  the SLA reaction clock stops (`app.services.cards.sla`), so a card closed with no ack has one;
- first page: to the ladder's first page sent;
- acknowledgement: to the on-call person's first acknowledgement;
- recovery: to Restored (or Closed), without the time spent waiting on others;
- unattended: to the first sign that someone had it (an assignee, an ack, In progress,
  Restored, Closed); a card nobody has yet is unattended until now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.services.cards.card import Card
from app.services.measures.facts import CardFacts

DURATIONS = ("reaction", "first_page", "acknowledgement", "recovery", "unattended")
DURATION_LABELS = {"reaction": "Reaction", "first_page": "First page",
                   "acknowledgement": "Acknowledgement", "recovery": "Recovery",
                   "unattended": "Unattended"}


def reaction_time(card: Card) -> timedelta | None:
    """Registration to the first confirmed contact (the on-call person's acknowledgement)."""
    if card.acknowledged_at is None:
        return None
    return max(timedelta(0), card.acknowledged_at - card.registered_at)


def recovery_time(card: Card) -> timedelta | None:
    """Registration to restored (or closed), without the time spent waiting on others."""
    done = card.restored_at or card.closed_at
    if done is None:
        return None
    paused = sum(
        ((min(end or done, done) - start) for start, end in card.pauses if start < done),
        timedelta(0),
    )
    return max(timedelta(0), done - card.registered_at - paused)


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """Nearest-rank percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -int(-q * len(ordered) // 1))  # ceil(q * n), at least the first
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Stats:
    count: int
    median: timedelta | None
    p90: timedelta | None
    max: timedelta | None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> Stats:
        ordered = sorted(values)
        return cls(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9),
                   ordered[-1] if ordered else None)


@dataclass(frozen=True)
class CardFigures:
    number: str
    priority: str
    kind_of_work: str
    category: str
    site: str
    status: str
    registered_at: datetime
    # Each duration with the moment it ended (a duration counts in the period it ended in).
    times: dict[str, tuple[timedelta, datetime] | None]
    reaction_state: str
    recovery_state: str
    update_met: int
    update_missed: int
    cause: str | None
    repeat_of: str | None
    repeat_via: str  # '', 'cause' or 'category': what the repeat shares with its card
    bounces: int
    reopened: int
    escalation: str  # '', 'unavailable', 'declined', 'no answer'
    top_tier: int
    review: str  # '', 'owed', 'overdue', 'recorded', 'done'

    def time(self, name: str) -> timedelta | None:
        found = self.times.get(name)
        return None if found is None else found[0]

    @property
    def reaction(self) -> timedelta | None:
        return self.time("reaction")

    @property
    def recovery(self) -> timedelta | None:
        return self.time("recovery")

    @property
    def escalated(self) -> bool:
        return bool(self.escalation)

    @property
    def unavailable(self) -> bool:
        return self.escalation == "unavailable"


def card_times(card: Card, facts: CardFacts, now: datetime
               ) -> dict[str, tuple[timedelta, datetime] | None]:
    # The same moments that stop the reaction clock (sla._reacted_at), from registration
    # rather than from the clock's start. Written out flat: a year's report calls it
    # 100,000 times.
    ack, started, restored, closed = (card.acknowledged_at, card.in_progress_at,
                                      card.restored_at, card.closed_at)
    moments = [t for t in (ack, started, restored, closed) if t is not None]
    reacted = min(moments) if moments else None
    done = restored or closed
    recovery = recovery_time(card)
    attended = [t for t in (facts.assigned_at, ack, started, restored, closed)
                if t is not None]
    until = min(attended) if attended else (now if card.is_open else None)
    registered = card.registered_at
    zero = timedelta(0)

    def pair(moment: datetime | None) -> tuple[timedelta, datetime] | None:
        return None if moment is None else (max(zero, moment - registered), moment)

    return {
        "reaction": pair(reacted),
        "first_page": pair(facts.first_page_at),
        "acknowledgement": pair(ack),
        "recovery": None if recovery is None or done is None else (recovery, done),
        "unattended": pair(until),
    }
