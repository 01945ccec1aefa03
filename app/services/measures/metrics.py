"""Measures a shift lead reads (DOMAIN.md): risk per card, and today's figures. Pure.
Today's figures are counted by the measures package (app/services/measures), the report's
own code; the durations and `minutes` are re-exported from there for older callers.

Risk is relative to each card's own SLA: a card is "breaching soon" when a running clock has
used BREACHING_SOON of its own allowance, so a 10-minute reaction clock and a 2-day recovery
clock turn amber at the same share. Today's figures count the clocks decided today (met or
breached) in the site's time zone, so the numbers reset at local midnight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.services.cards.card import Card
from app.services.cards.rules import PRIORITIES, DispatchRules
from app.services.cards.sla import CardClocks, ClockState, SlaClock, clocks_for
from app.services.measures.clocks import Decision, decided, shares
from app.services.measures.facts import NO_FACTS
from app.services.measures.figures import card_times, percentile
from app.services.measures.figures import reaction_time as reaction_time
from app.services.measures.figures import recovery_time as recovery_time
from app.services.measures.period import day_of
from app.services.measures.text import minutes as minutes

BREACHING_SOON = 0.75
# Clocks whose breach is a broken promise to the customer; the status-update cadence is
# chased at the desk and would drown the board in amber.
RISK_CLOCKS = ("reaction", "recovery")


@dataclass(frozen=True)
class CardRisk:
    card: Card
    clocks: CardClocks
    nearest: SlaClock | None  # the running risk clock with the earliest deadline
    used: float | None  # share of that clock's allowance used (1.0 = at the deadline)
    breached: bool
    unacknowledged: bool

    @property
    def breaching_soon(self) -> bool:
        return not self.breached and self.used is not None and self.used >= BREACHING_SOON

    def sort_key(self) -> tuple[bool, str, bool, float]:
        # Breached first, then priority, then nobody has accepted it, then the most used clock.
        return (not self.breached, self.card.priority, not self.unacknowledged, -(self.used or 0))

    def due_within(self, now: datetime, horizon: timedelta) -> SlaClock | None:
        """The first risk clock that is breached or falls due before now + horizon."""
        for clock in sorted(self._running(), key=lambda c: c.due or now):
            if clock.due is not None and clock.due <= now + horizon:
                return clock
        return None

    def _running(self) -> list[SlaClock]:
        return [c for c in self.clocks.all() if c.name in RISK_CLOCKS and c.running]


def assess(card: Card, clocks: CardClocks, now: datetime) -> CardRisk:
    running = [c for c in clocks.all() if c.name in RISK_CLOCKS and c.running and c.due]
    nearest = min(running, key=lambda c: c.due or now) if running else None
    return CardRisk(
        card=card,
        clocks=clocks,
        nearest=nearest,
        used=nearest.used(now) if nearest else None,
        breached=any(c.state is ClockState.BREACHED for c in running),
        unacknowledged=card.acknowledged_at is None and card.is_open,
    )


def by_risk(cards: Iterable[Card], rules: DispatchRules, now: datetime) -> list[CardRisk]:
    """Open cards, riskiest first."""
    risks = [assess(c, clocks_for(c, rules, now), now) for c in cards if c.is_open]
    risks.sort(key=CardRisk.sort_key)
    return risks


@dataclass(frozen=True)
class Compliance:
    met: int
    decided: int

    @property
    def share(self) -> float | None:
        return self.met / self.decided if self.decided else None


@dataclass(frozen=True)
class DayMetrics:
    day_start: datetime
    compliance: dict[str, Compliance]  # by priority: clocks met / clocks decided today
    reaction_median: timedelta | None
    reaction_p90: timedelta | None
    reactions: int
    open_by_priority: dict[str, int]
    unassigned: tuple[tuple[str, timedelta], ...]  # (card number, age), oldest first

    @property
    def oldest_unassigned(self) -> timedelta | None:
        return self.unassigned[0][1] if self.unassigned else None


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)


def is_unassigned(card: Card) -> bool:
    return card.is_open and not card.assignee and not card.acknowledged_by


def day_metrics(
    cards: Iterable[Card], rules: DispatchRules, now: datetime, tz: ZoneInfo | None = None
) -> DayMetrics:
    """Today's figures for the wallboard, counted by the report's own rules (measures): a
    clock counts on the day it was decided, a reaction on the day it happened."""
    day = day_of(now, tz or rules.tz)
    pairs: list[tuple[str, Decision]] = []
    reactions: list[timedelta] = []
    open_counts: Counter[str] = Counter()
    unassigned: list[tuple[str, timedelta]] = []
    for card in cards:
        if card.is_open:
            open_counts[card.priority] += 1
            if is_unassigned(card):
                unassigned.append((card.number, now - card.registered_at))
        if card.closed_at and card.closed_at < day.start:
            continue  # nothing of an old closed card can be decided today
        pairs += [(card.priority, d) for d in decided(clocks_for(card, rules, now))]
        reacted = card_times(card, NO_FACTS, now)["reaction"]
        if reacted is not None and reacted[1] in day:
            reactions.append(reacted[0])
    today = shares(pairs, {p: (p,) for p in PRIORITIES}, day.start, day.end)
    unassigned.sort(key=lambda item: -item[1])
    return DayMetrics(
        day_start=day.start,
        compliance={p: Compliance(s.met, s.decided) for p in PRIORITIES
                    for s in (today["reaction"][p] + today["recovery"][p],)},
        reaction_median=percentile(reactions, 0.5),
        reaction_p90=percentile(reactions, 0.9),
        reactions=len(reactions),
        open_by_priority={p: open_counts[p] for p in PRIORITIES},
        unassigned=tuple(unassigned),
    )
