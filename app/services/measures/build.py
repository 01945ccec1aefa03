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
from functools import cached_property

from app.services.cards.card import Card
from app.services.cards.rules import PRIORITIES, DispatchRules, SlaPolicy
from app.services.cards.sla import clocks_for
from app.services.measures.clocks import Decision, Share, ShareCounter, decided, update_deadlines
from app.services.measures.facts import NO_FACTS, CardFacts
from app.services.measures.figures import DURATIONS, CardFigures, Stats, card_times
from app.services.measures.period import Period
from app.services.measures.repeats import REPEAT_WINDOW, recorded_cause, repeats
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
class OverdueReview:
    """A card whose post-incident review is overdue (of every card, not only the period's)."""

    number: str
    priority: str
    site: str
    category: str
    review: str  # 'overdue'


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
    escalated_unavailable: int  # nobody to page, or the page failed
    escalated_declined: int  # the paged person said no
    depth: Mapping[int, int]  # top ladder tier reached -> cards (0: never paged)
    bounced_cards: int
    bounces: int
    reopened: int
    reviews_overdue: tuple[OverdueReview, ...]  # of every card, not only the period's

    @cached_property  # read by the summary, two charts and two tables
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
    def escalated_on_call_unavailable(self) -> int:
        """Escalated because the on-call person was unavailable: unreachable, the page
        failed, or they declined (DOMAIN.md, "Measures")."""
        return self.escalated_unavailable + self.escalated_declined

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


def build_report(
    cards: Iterable[Card],
    facts: Mapping[str, CardFacts],
    rules: DispatchRules,
    period: Period,
    now: datetime,
    reviews: Mapping[str, Review] | None = None,
) -> Report:
    """`cards`: every card the desk has; `facts`: card id -> its timeline's facts (needed for
    the cards registered or decided in the period); `reviews`: card id -> its review.
    One pass over the cards counts everything (a year's report is 100,000 of them)."""
    every = list(cards)
    reviews = reviews or {}
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)  # fast to compare
    # A card of the period repeats one registered at most REPEAT_WINDOW before it.
    since = start - REPEAT_WINDOW
    repeat = repeats(c for c in every if since <= c.registered_at < end)
    spans = list(period.weeks())
    counter = ShareCounter([w.start for w in spans] + [period.end])
    cat: Counter[str] = Counter()  # clocks breached in the period, by category
    values: dict[str, list[timedelta]] = {name: [] for name in DURATIONS}
    by_cause: Counter[str] = Counter()
    names: dict[str, str] = {}  # the first spelling of a cause names it in the report
    tally: Counter[str] = Counter()
    depth: Counter[int] = Counter()
    figures: list[CardFigures] = []
    overdue: list[OverdueReview] = []
    policies: dict[tuple[str, str, str], SlaPolicy] = {}
    for card in sorted(every, key=lambda c: (c.registered_at, c.number)):
        if card.registered_at >= end:
            continue
        review = review_state(card, reviews.get(card.id), now)
        if review == "overdue":
            overdue.append(OverdueReview(card.number, card.priority, card.site, card.category,
                                         review))
        if card.closed_at and card.closed_at < start:
            continue  # nothing of it is decided in the period
        f = facts.get(card.id, NO_FACTS)
        found, reaction_state, recovery_state = card_decisions(card, f, rules, now, policies)
        met = missed = 0
        for d in found:
            counter.add(card.priority, d)
            if d.breached and start <= d.at < end:
                cat[card.category] += 1
            if d.clock == "update":
                missed += d.breached
                met += not d.breached
        times = card_times(card, f, now)
        # A card from before the period counts with the durations that ended inside it.
        for name, t in times.items():
            if t is not None and start <= t[1] < end:
                values[name].append(t[0])
        earlier = repeat.get(card.id)
        row = CardFigures(
            number=card.number, priority=card.priority, kind_of_work=card.kind_of_work,
            category=card.category, site=card.site, status=card.status,
            registered_at=card.registered_at, times=times,
            reaction_state=reaction_state, recovery_state=recovery_state,
            update_met=met, update_missed=missed,
            cause=recorded_cause(card) if not card.is_open else None,
            repeat_of=earlier[0].number if earlier else None,
            repeat_via=earlier[1] if earlier else "",
            bounces=f.bounces, reopened=f.reopened, escalation=f.escalation_reason,
            top_tier=f.top_tier, review=review,
        )
        if card.registered_at < start:
            continue  # the rows and counts are the period's cards
        figures.append(row)
        if row.repeat_via == "cause" and row.cause:
            by_cause[names.setdefault(row.cause.casefold(), row.cause)] += 1
        tally.update(("cause",) * bool(row.cause) + ("closed",) * (row.status == "closed")
                     + ("bounced",) * bool(row.bounces) + ("reopened",) * bool(row.reopened)
                     + (("escalation:" + row.escalation,) if row.escalation else ()))
        tally["bounces"] += row.bounces
        depth[row.top_tier] += 1
    weekly = counter.spans({p: (p,) for p in PRIORITIES})
    weeks = tuple(Week(w, {p: s["reaction"][p] + s["recovery"][p] for p in PRIORITIES})
                  for w, s in zip(spans, weekly, strict=True))
    reasons = {r: tally["escalation:" + r] for r in ("unavailable", "declined", "no answer")}
    return Report(
        period=period, now=now, cards=tuple(figures), breaches=counter.total(ALL_GROUPS),
        durations={name: Stats.of(values[name]) for name in DURATIONS},
        reaction_values=tuple(sorted(values["reaction"])), weeks=weeks,
        breaches_by_category=dict(cat.most_common()),
        repeats_by_cause=dict(by_cause.most_common()),
        causes_recorded=tally["cause"], closed=tally["closed"],
        escalated=sum(reasons.values()), escalated_unavailable=reasons["unavailable"],
        escalated_declined=reasons["declined"], depth=dict(sorted(depth.items())),
        bounced_cards=tally["bounced"], bounces=tally["bounces"], reopened=tally["reopened"],
        reviews_overdue=tuple(overdue),
    )
