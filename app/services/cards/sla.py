"""SLA clocks, derived from a card and its policy; never stored.

Three clocks per card (DOMAIN.md, "SLA clocks"): reaction (until an on-call person accepts),
recovery (until the service is restored; paused while waiting for the customer or a
contractor) and the status-update cadence. A breach is written onto the card's timeline as a
fact, with an id derived from (card, clock, deadline) so it is recorded exactly once, even when
the desk was off at the moment of breach and notices it at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.models.entry import Entry, NewEntry, fact_id
from app.models.journal import Journal
from app.models.projection import CLOSED, RESTORED
from app.services.cards.calendar import add_operating_time, deadline_with_pauses
from app.services.cards.card import Card
from app.services.cards.rules import ClockSpec, DispatchRules, SlaPolicy

CLOCK_NAMES = ("reaction", "recovery", "update")
SYSTEM_OPERATOR = "system"


class ClockState(StrEnum):
    NOT_STARTED = "not started"
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    OFF = "off"


@dataclass(frozen=True)
class SlaClock:
    name: str
    due: datetime | None
    allowance: timedelta
    done_at: datetime | None
    state: ClockState

    def remaining(self, now: datetime) -> timedelta | None:
        if self.due is None or self.state in (ClockState.MET, ClockState.OFF):
            return None
        return self.due - now

    def used(self, now: datetime) -> float | None:
        """Share of the clock's own allowance used up (1.0 = at the deadline). Colours are
        relative to this, so a 2-hour clock and a 2-day clock turn amber at the same share."""
        left = self.remaining(now)
        if left is None or not self.allowance:
            return None
        return 1.0 - left / self.allowance

    @property
    def running(self) -> bool:
        return self.state in (ClockState.RUNNING, ClockState.BREACHED) and self.done_at is None


@dataclass(frozen=True)
class CardClocks:
    policy: str
    reaction: SlaClock
    recovery: SlaClock
    update: SlaClock

    def all(self) -> tuple[SlaClock, SlaClock, SlaClock]:
        return (self.reaction, self.recovery, self.update)

    def nearest(self, now: datetime) -> SlaClock | None:
        """The running clock whose deadline comes first (breached ones count as earliest)."""
        live = [c for c in self.all() if c.running and c.due is not None]
        return min(live, key=lambda c: c.due or now) if live else None

    def next_due_after(self, now: datetime) -> datetime | None:
        future = [c.due for c in self.all() if c.running and c.due and c.due > now]
        return min(future) if future else None


def _state(due: datetime | None, done_at: datetime | None, now: datetime) -> ClockState:
    if due is None:
        return ClockState.PAUSED
    if done_at is not None:
        return ClockState.MET if done_at <= due else ClockState.BREACHED
    return ClockState.BREACHED if now >= due else ClockState.RUNNING


def _start(card: Card, policy: SlaPolicy) -> datetime | None:
    if policy.clock_start != "confirmation":
        return card.registered_at
    ack = card.acknowledged_at
    if card.confirmed_at is not None and ack is not None and card.confirmed_at >= ack:
        # The fold lets an ack confirm a card nobody confirmed. Starting there would have the
        # same ack meet reaction at zero; the dispatcher's step was skipped, so the clocks run
        # from registration, the earliest the card was known.
        return card.registered_at
    return card.confirmed_at


def _reacted_at(card: Card) -> datetime | None:
    """When the reaction happened. DOMAIN.md: reaction is "the on-duty person accepts and
    confirms", and the measure runs "to first confirmed contact". An acknowledgement says so
    explicitly; a card In progress, Restored or Closed can only be so because someone took it
    on, so the first of the four is the reaction. Without this a card closed with no ack kept
    its reaction clock running and breached after it was closed."""
    moments = [t for t in (card.acknowledged_at, card.in_progress_at, card.restored_at,
                           card.closed_at) if t is not None]
    return min(moments) if moments else None


def _off(name: str, spec: ClockSpec | None, state: ClockState) -> SlaClock:
    return SlaClock(name, None, spec.duration if spec else timedelta(0), None, state)


def clocks_for(card: Card, rules: DispatchRules, now: datetime) -> CardClocks:
    policy = rules.policy_for(card.category, card.priority, card.kind_of_work)
    if card.closed_at is not None and not card.is_open:
        # A closed card's clocks are read as they stood when it closed, so nothing about
        # it changes afterwards (the wallboard's and the report's shares stay put).
        now = min(now, card.closed_at)
    start = _start(card, policy)
    if start is None:
        return CardClocks(
            policy.name,
            _off("reaction", policy.reaction, ClockState.NOT_STARTED),
            _off("recovery", policy.recovery, ClockState.NOT_STARTED),
            _off("update", policy.updates, ClockState.NOT_STARTED),
        )
    reaction = _reaction_clock(card, policy, start, now)
    rec_spec = policy.recovery
    rec_due = deadline_with_pauses(start, rec_spec.duration, rec_spec.hours, card.pauses)
    rec_done = card.restored_at or card.closed_at
    if rec_due is None and rec_done is None:
        recovery = SlaClock("recovery", None, rec_spec.duration, None, ClockState.PAUSED)
    else:
        recovery = SlaClock(
            "recovery", rec_due, rec_spec.duration, rec_done, _state(rec_due, rec_done, now)
        )
    return CardClocks(policy.name, reaction, recovery, _update_clock(card, policy, start, now))


def _reaction_clock(card: Card, policy: SlaPolicy, start: datetime, now: datetime) -> SlaClock:
    spec = policy.reaction
    if spec is None:  # a policy without one (planned work): nothing to meet or breach
        return _off("reaction", spec, ClockState.OFF)
    due = add_operating_time(start, spec.duration, spec.hours)
    done = _reacted_at(card)
    if done is not None and done < start:
        done = start  # worked before the confirmation: met at the start, never before it
    return SlaClock("reaction", due, spec.duration, done, _state(due, done, now))


def _update_clock(card: Card, policy: SlaPolicy, start: datetime, now: datetime) -> SlaClock:
    spec = policy.updates
    if spec is None or card.status in (RESTORED, CLOSED):
        return _off("update", spec, ClockState.OFF)
    if card.next_update_at is not None:
        due = card.next_update_at
    else:
        due = add_operating_time(card.last_update_at or start, spec.duration, spec.hours)
    return SlaClock("update", due, spec.duration, None, _state(due, None, now))


def breach_key(card_id: str, clock: SlaClock) -> str:
    assert clock.due is not None
    return f"{card_id}/{clock.name}/{clock.due.isoformat()}"


def pending_breaches(card: Card, clocks: CardClocks, now: datetime) -> list[NewEntry]:
    """Breach facts that are due for this card and not yet on its timeline."""
    out = []
    for clock in clocks.all():
        if clock.state is not ClockState.BREACHED or clock.due is None or clock.due > now:
            continue
        if f"{clock.name}@{clock.due.isoformat()}" in card.breaches:
            continue
        payload = {
            "clock": clock.name,
            "due": clock.due.isoformat(),
            "at": clock.due.isoformat(),
            "noticed_late": (now - clock.due) > timedelta(minutes=1),
        }
        out.append(NewEntry(card.id, "sla.breach", payload, id=fact_id(breach_key(card.id, clock))))
    return out


class SlaWatch:
    """Writes breaches as facts and tells the scheduler when to wake next."""

    def __init__(self, journal: Journal, rules: DispatchRules) -> None:
        self.journal = journal
        self.rules = rules

    def record_breaches(self, now: datetime) -> list[Entry]:
        facts: list[NewEntry] = []
        for state in self.journal.cards(open_only=True):
            card = Card.from_state(state)
            facts += pending_breaches(card, clocks_for(card, self.rules, now), now)
        return self.journal.write(facts, SYSTEM_OPERATOR) if facts else []

    def next_wake(self, now: datetime) -> datetime | None:
        wakes = []
        for state in self.journal.cards(open_only=True):
            card = Card.from_state(state)
            due = clocks_for(card, self.rules, now).next_due_after(now)
            if due is not None:
                wakes.append(due)
        return min(wakes) if wakes else None
