"""A period's measures from card states and their timelines. Pure: the caller passes the
cards, what their timelines say (`CardFacts`, see facts.py), their reviews, and `now`.

Which cards: the per-card rows and the counts are the cards registered in the period (local
dates in the site's time zone, the end date included); a repeat may follow a card from before
it. Clock shares count every clock decided in the period (clocks.py), and a duration counts in
the period where it ended (figures.py): the same rules the wallboard's "today" uses, so the
two never disagree. A figure whose fact is missing is None, and reads "not recorded".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.services.cards.card import Card
from app.services.cards.rules import PRIORITIES, DispatchRules
from app.services.cards.sla import clocks_for
from app.services.measures.clocks import (
    Decision,
    Share,
    decided,
    shares,
    shares_by,
    update_deadlines,
)
from app.services.measures.facts import NO_FACTS, CardFacts
from app.services.measures.figures import DURATIONS, CardFigures, Stats, card_times
from app.services.measures.period import Period
from app.services.measures.repeats import recorded_cause, repeats
from app.services.measures.reviews import Review, review_state

# The figures the field reads by priority: P1 on its own, then the rest (DOMAIN.md).
GROUPS: dict[str, tuple[str, ...]] = {"P1": ("P1",), "P2-P4": ("P2", "P3", "P4")}
ALL_GROUPS: dict[str, tuple[str, ...]] = {**GROUPS, **{p: (p,) for p in PRIORITIES}}
REPORT_CLOCKS = ("reaction", "recovery")


@dataclass(frozen=True)
class Week:
    period: Period
    shares: Mapping[str, Share]  # priority -> reaction and recovery together


@dataclass(frozen=True)
class Report:
    period: Period
    now: datetime
    cards: tuple[CardFigures, ...]
    breaches: Mapping[str, Mapping[str, Share]]  # clock -> P1 / P2-P4 / each priority
    durations: Mapping[str, Stats]
    reaction_values: tuple[timedelta, ...]  # for the distribution chart
    weeks: tuple[Week, ...]
    breaches_by_category: Mapping[str, int]  # clocks breached in the period, by category
    repeats_by_cause: Mapping[str, int]
    causes_recorded: int  # closed cards in the period with a recorded cause
    closed: int
    escalated: int
    escalated_unavailable: int
    escalated_declined: int
    depth: Mapping[int, int]  # top ladder tier reached -> cards (0: never paged)
    bounced_cards: int
    bounces: int
    reopened: int
    reviews_overdue: tuple[CardFigures, ...]  # of every card, not only the period's

    @property
    def repeats(self) -> tuple[CardFigures, ...]:
        return tuple(c for c in self.cards if c.repeat_of)

    @property
    def reaction_median(self) -> timedelta | None:
        return self.durations["reaction"].median

    @property
    def reaction_p90(self) -> timedelta | None:
        return self.durations["reaction"].p90

    @property
    def reactions(self) -> int:
        return self.durations["reaction"].count

    @property
    def escalated_no_answer(self) -> int:
        return self.escalated - self.escalated_unavailable - self.escalated_declined

    @property
    def messages(self) -> Share:
        """Status-update deadlines decided in the period: missed of all."""
        return self.breaches["update"]["P1"] + self.breaches["update"]["P2-P4"]

    @property
    def classification_accuracy(self) -> float | None:
        """Share of the period's cards whose category was never changed after registration."""
        if not self.cards:
            return None
        return 1 - self.bounced_cards / len(self.cards)


def card_decisions(card: Card, facts: CardFacts, rules: DispatchRules, now: datetime
                   ) -> tuple[list[Decision], str, str]:
    clocks = clocks_for(card, rules, now)
    found = decided(clocks) + update_deadlines(card, facts, rules, now)
    return found, clocks.reaction.state.value, clocks.recovery.state.value


def build_report(
    cards: Iterable[Card],
    facts: Mapping[str, CardFacts],
    rules: DispatchRules,
    period: Period,
    now: datetime,
    reviews: Mapping[str, Review] | None = None,
) -> Report:
    """`cards`: every card the desk has; `facts`: card id -> its timeline's facts (needed for
    the cards registered or decided in the period); `reviews`: card id -> its review."""
    every = list(cards)
    reviews = reviews or {}
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)  # fast to compare
    repeat = repeats(c for c in every if c.registered_at < end)
    pairs: list[tuple[str, Decision]] = []
    category_of: list[tuple[str, Decision]] = []
    figures: list[CardFigures] = []
    rows: list[CardFigures] = []
    overdue: list[CardFigures] = []
    for card in sorted(every, key=lambda c: (c.registered_at, c.number)):
        if card.registered_at >= end or (card.closed_at and card.closed_at < start
                                          and not card.review_owed):
            continue  # nothing of it is decided in the period, and no review can be overdue
        f = facts.get(card.id, NO_FACTS)
        found, reaction_state, recovery_state = card_decisions(card, f, rules, now)
        pairs += [(card.priority, d) for d in found]
        category_of += [(card.category, d) for d in found if d.breached]
        earlier = repeat.get(card.id)
        row = CardFigures(
            number=card.number, priority=card.priority, kind_of_work=card.kind_of_work,
            category=card.category, site=card.site, status=card.status,
            registered_at=card.registered_at, times=card_times(card, f, now),
            reaction_state=reaction_state, recovery_state=recovery_state,
            update_met=sum(not d.breached for d in found if d.clock == "update"),
            update_missed=sum(d.breached for d in found if d.clock == "update"),
            cause=recorded_cause(card) if not card.is_open else None,
            repeat_of=earlier[0].number if earlier else None,
            repeat_via=earlier[1] if earlier else "",
            bounces=f.bounces, reopened=f.reopened, escalation=f.escalation_reason,
            top_tier=f.top_tier, review=review_state(card, reviews.get(card.id), now),
        )
        if row.review == "overdue":
            overdue.append(row)
        rows.append(row)
        if start <= card.registered_at:
            figures.append(row)
    durations = {}
    reaction_values: list[timedelta] = []
    for name in DURATIONS:
        # A card from before the period counts with the durations that ended inside it.
        values = [t[0] for row in rows if (t := row.times.get(name)) and start <= t[1] < end]
        durations[name] = Stats.of(values)
        if name == "reaction":
            reaction_values = values
    by_cause: Counter[str] = Counter()
    names: dict[str, str] = {}  # the first spelling of a cause names it in the report
    for row in figures:
        if row.repeat_via == "cause" and row.cause:
            by_cause[names.setdefault(row.cause.casefold(), row.cause)] += 1
    spans = list(period.weeks())
    weekly = shares_by(pairs, {p: (p,) for p in PRIORITIES}, [w.start for w in spans]
                       + [period.end])
    weeks = tuple(Week(w, {p: s["reaction"][p] + s["recovery"][p] for p in PRIORITIES})
                  for w, s in zip(spans, weekly, strict=True))
    cat: Counter[str] = Counter()
    for category, d in category_of:
        if start <= d.at < end:
            cat[category] += 1
    return Report(
        period=period, now=now, cards=tuple(figures),
        breaches=shares(pairs, ALL_GROUPS, period.start, period.end),
        durations=durations, reaction_values=tuple(sorted(reaction_values)), weeks=weeks,
        breaches_by_category=dict(cat.most_common()),
        repeats_by_cause=dict(by_cause.most_common()),
        causes_recorded=sum(1 for f in figures if f.cause),
        closed=sum(1 for f in figures if f.status == "closed"),
        escalated=sum(f.escalated for f in figures),
        escalated_unavailable=sum(f.escalation == "unavailable" for f in figures),
        escalated_declined=sum(f.escalation == "declined" for f in figures),
        depth=dict(sorted(Counter(f.top_tier for f in figures).items())),
        bounced_cards=sum(1 for f in figures if f.bounces),
        bounces=sum(f.bounces for f in figures),
        reopened=sum(1 for f in figures if f.reopened),
        reviews_overdue=tuple(overdue),
    )
