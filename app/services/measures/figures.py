"""One card's figures: how long each step took, how its clocks stand, what its timeline says.

Durations run from registration (the earliest the card was known):
- reaction: to the first of an acknowledgement, In progress, Restored or Closed -- the moment
  the SLA reaction clock stops (`app.services.cards.sla`), so a card closed with no ack has one;
- first page: to the ladder's first page sent;
- acknowledgement: to the on-call person's first acknowledgement;
- recovery: to Restored (or Closed), without the time spent waiting on others;
- unattended: to the first sign that someone had it (an assignee, an ack, In progress,
  Restored, Closed); a card nobody has yet is unattended until now.

A card's figures are one row of plain values (`CardFigures`): every moment and duration in
whole microseconds since the epoch (UTC), so a year's report compares integers, and the
figures cache (measures/cache.py) stores a row and reads it back exactly -- a microsecond is
the journal's own resolution. The figures of a period (build.py) are counted from these rows
whether they were computed now or read from the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from app.models.projection import CLOSED
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules, SlaPolicy
from app.services.cards.sla import clocks_for
from app.services.measures.clocks import Decision, decided, update_deadlines
from app.services.measures.facts import CardFacts
from app.services.measures.period import US, from_us, to_us
from app.services.measures.repeats import Place, place_of, recorded_cause

DURATIONS = ("reaction", "first_page", "acknowledgement", "recovery", "unattended")
DURATION_LABELS = {"reaction": "Reaction", "first_page": "First page",
                   "acknowledgement": "Acknowledgement", "recovery": "Recovery",
                   "unattended": "Unattended"}
T = TypeVar("T")


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
    return _rank(sorted(values), q)


def _rank(ordered: Sequence[T], q: float) -> T | None:
    if not ordered:
        return None
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
        return cls(len(ordered), _rank(ordered, 0.5), _rank(ordered, 0.9),
                   ordered[-1] if ordered else None)

    @classmethod
    def of_us(cls, values: Sequence[int]) -> Stats:
        """The same of durations in microseconds (sorting integers is what a year costs)."""
        ordered = sorted(values)
        picked = (_rank(ordered, 0.5), _rank(ordered, 0.9), ordered[-1] if ordered else None)
        return cls(len(ordered), *(None if v is None else timedelta(microseconds=v)
                                   for v in picked))


class Outline(NamedTuple):
    """What the report reads of a card it does not count in its period: what a repeat
    (repeats.py) and an overdue review need. The first fields of `CardFigures`, in order."""

    id: str
    number: str
    priority: str
    kind_of_work: str
    category: str
    site: str
    status: str
    registered: int  # microseconds since the epoch, like every moment below
    closed: int | None
    done: int | None  # restored, else closed: a repeat comes after it
    place: Place
    recorded_cause: str | None  # whatever the status (repeats read it so)
    review_owed: bool


class CardFigures(NamedTuple):
    # -- the card (the same as Outline) --
    id: str
    number: str
    priority: str
    kind_of_work: str
    category: str
    site: str
    status: str
    registered: int
    closed: int | None
    done: int | None
    place: Place
    recorded_cause: str | None
    review_owed: bool
    # -- its durations (DURATIONS) in microseconds, each with the moment it ended (a
    # duration counts in the period it ended in); None: not recorded --
    reaction_us: int | None
    reaction_end: int | None
    first_page_us: int | None
    first_page_end: int | None
    acknowledgement_us: int | None
    acknowledgement_end: int | None
    recovery_us: int | None
    recovery_end: int | None
    unattended_us: int | None
    unattended_end: int | None
    # -- its clocks: each decided one as (clock, when, breached) --
    decisions: tuple[tuple[str, int, bool], ...]
    reaction_state: str
    recovery_state: str
    update_met: int
    update_missed: int
    # -- its timeline --
    bounces: int
    reopened: int
    escalation: str  # '', 'unavailable', 'declined', 'no answer'
    top_tier: int
    # -- of the report rather than the card alone: set when a period counts it --
    repeat_of: str | None = None
    repeat_via: str = ""  # '', 'cause' or 'category': what the repeat shares with its card
    review: str = ""  # '', 'owed', 'overdue', 'recorded', 'done'

    @property
    def registered_at(self) -> datetime:
        return from_us(self.registered)

    @property
    def cause(self) -> str | None:
        """The recorded cause of a closed card (an open one has none yet)."""
        return self.recorded_cause if self.status == CLOSED else None

    @property
    def times(self) -> dict[str, tuple[timedelta, datetime] | None]:
        """Each duration with the moment it ended."""
        out: dict[str, tuple[timedelta, datetime] | None] = {}
        for name in DURATIONS:
            us, end = self.span(name)
            out[name] = None if us is None or end is None else (
                timedelta(microseconds=us), from_us(end))
        return out

    def span(self, name: str) -> tuple[int | None, int | None]:
        """A duration and the moment it ended, in microseconds."""
        row: tuple[Any, ...] = self
        i = SPAN_AT[name]
        return row[i], row[i + 1]

    def time(self, name: str) -> timedelta | None:
        us = self.span(name)[0]
        return None if us is None else timedelta(microseconds=us)

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


# Where each duration sits in the row (its end right after it).
SPAN_AT = {name: CardFigures._fields.index(f"{name}_us") for name in DURATIONS}
CARD_FIELDS = len(Outline._fields)
REPORT_FIELDS = 3  # repeat_of, repeat_via, review: never cached
NOT_COUNTED = (None, "", "")  # those three before a period counts the row


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


def card_decisions(card: Card, facts: CardFacts, rules: DispatchRules, now: datetime,
                   policies: dict[tuple[str, str, str], SlaPolicy] | None = None
                   ) -> tuple[list[Decision], str, str]:
    """The card's decided clocks and its reaction and recovery states; `policies` keeps the
    policies looked up so far (a year's cards share a few dozen)."""
    clocks = clocks_for(card, rules, now)
    key = (card.category, card.priority, card.kind_of_work)
    policy = (policies or {}).get(key) or rules.policy_for(*key)
    if policies is not None:
        policies[key] = policy
    found = decided(clocks) + update_deadlines(card, facts, rules, now, policy)
    return found, clocks.reaction.state.value, clocks.recovery.state.value


def _us_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def outline_of(card: Card) -> Outline:
    return Outline(card.id, card.number, card.priority, card.kind_of_work, card.category,
                   card.site, card.status, to_us(card.registered_at),
                   _us_or_none(card.closed_at), _us_or_none(card.restored_at or card.closed_at),
                   place_of(card), recorded_cause(card), card.review_owed)


def figures_of(card: Card, facts: CardFacts, rules: DispatchRules, now: datetime,
               policies: dict[tuple[str, str, str], SlaPolicy] | None = None) -> CardFigures:
    """The card's figures as of `now` (a closed card's do not change after it closed)."""
    found, reaction_state, recovery_state = card_decisions(card, facts, rules, now, policies)
    met = missed = 0
    for d in found:
        if d.clock == "update":
            missed += d.breached
            met += not d.breached
    spans: list[int | None] = []
    for t in card_times(card, facts, now).values():
        spans += (None, None) if t is None else (t[0] // US, to_us(t[1]))
    return CardFigures._make((
        *outline_of(card), *spans,
        tuple((d.clock, to_us(d.at), d.breached) for d in found),
        reaction_state, recovery_state, met, missed,
        facts.bounces, facts.reopened, facts.escalation_reason, facts.top_tier,
        *NOT_COUNTED))
