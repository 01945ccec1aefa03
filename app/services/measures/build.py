"""A period's measures from card states and their timelines. Pure: the caller passes the
cards, what their timelines say (`CardFacts`, see facts.py), their reviews, and `now`.

Which cards: the per-card rows and the counts are the cards registered in the period (local
dates in the site's time zone, the end date included); a repeat may follow a card from before
it. Clock shares count every clock decided in the period (clocks.py), and a duration counts in
the period where it ended (figures.py): the same rules the wallboard's "today" uses, so the
two never disagree. A figure whose fact is missing is None, and reads "not recorded".
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from operator import itemgetter
from typing import Any, NamedTuple

from app.models.projection import CLOSED
from app.services.cards.card import Card
from app.services.cards.rules import PRIORITIES, DispatchRules, SlaPolicy
from app.services.measures.clocks import Share, ShareCounter
from app.services.measures.facts import NO_FACTS, CardFacts
from app.services.measures.figures import (
    DURATIONS,
    REPORT_FIELDS,
    SPAN_AT,
    CardFigures,
    Outline,
    Stats,
    figures_of,
    outline_of,
)
from app.services.measures.period import Period, to_us
from app.services.measures.repeats import WINDOW_US, repeats
from app.services.measures.reviews import Review, review_state_us

# The figures the field reads by priority: P1 on its own, then the rest (DOMAIN.md).
GROUPS: dict[str, tuple[str, ...]] = {"P1": ("P1",), "P2-P4": ("P2", "P3", "P4")}
ALL_GROUPS: dict[str, tuple[str, ...]] = {**GROUPS, **{p: (p,) for p in PRIORITIES}}
REPORT_CLOCKS = ("reaction", "recovery")


@dataclass(frozen=True)
class Week:
    period: Period
    shares: Mapping[str, Share]  # priority -> reaction and recovery together


class OverdueReview(NamedTuple):  # a tuple: a year has tens of thousands
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


def figures_for(cards: Iterable[Card], facts: Mapping[str, CardFacts], rules: DispatchRules,
                period: Period, now: datetime) -> tuple[list[CardFigures], list[Outline]]:
    """The figures of the cards `period` counts (registered before its end and not closed
    before its start), and the outline of the others (what repeats and reviews read)."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)  # fast to compare
    policies: dict[tuple[str, str, str], SlaPolicy] = {}
    rows: list[CardFigures] = []
    others: list[Outline] = []
    for card in cards:
        if card.registered_at >= end or (card.closed_at and card.closed_at < start):
            others.append(outline_of(card))
        else:
            rows.append(figures_of(card, facts.get(card.id, NO_FACTS), rules, now, policies))
    return rows, others


def build_report(
    cards: Iterable[Card],
    facts: Mapping[str, CardFacts],
    rules: DispatchRules,
    period: Period,
    now: datetime,
    reviews: Mapping[str, Review] | None = None,
    cached: Iterable[CardFigures] = (),
) -> Report:
    """`cards`: every card the desk has; `facts`: card id -> its timeline's facts (needed for
    the cards registered or decided in the period); `reviews`: card id -> its review;
    `cached`: the figures of more cards, computed before (measures/cache.py) -- a card is
    either in `cards` or in `cached`, and one in both counts as in `cards`."""
    return build_report_rows(cards, facts, rules, period, now, reviews, cached)[0]


def build_report_rows(
    cards: Iterable[Card],
    facts: Mapping[str, CardFacts],
    rules: DispatchRules,
    period: Period,
    now: datetime,
    reviews: Mapping[str, Review] | None = None,
    cached: Iterable[CardFigures] = (),
) -> tuple[Report, list[CardFigures]]:
    """`build_report`, and the figures it computed (of `cards`; the ones to cache)."""
    live = list(cards)
    rows, others = figures_for(live, facts, rules, period, now)
    ids = {c.id for c in live}
    earlier = [r for r in cached if r.id not in ids] if ids else list(cached)
    return count_report([*rows, *others, *earlier], period, now, reviews), rows


_REGISTERED = itemgetter(CardFigures._fields.index("registered"))
_ORDER = itemgetter(CardFigures._fields.index("registered"), CardFigures._fields.index("number"))


def _in_order(rows: Iterable[CardFigures | Outline]) -> list[CardFigures | Outline]:
    """The rows by (registered, number). By the registration alone first: comparing integers
    sorts a year 3x faster than comparing pairs, and two cards registered in the same
    microsecond are so rare that only then are the pairs compared."""
    every = sorted(rows, key=_REGISTERED)
    moments = list(map(_REGISTERED, every))
    if any(map(operator.eq, moments, moments[1:])):
        every.sort(key=_ORDER)
    return every
_REPORT_PART = -REPORT_FIELDS
_SPANS = slice(SPAN_AT[DURATIONS[0]], SPAN_AT[DURATIONS[-1]] + 2)


def count_report(rows: Iterable[CardFigures | Outline], period: Period, now: datetime,
                 reviews: Mapping[str, Review] | None = None) -> Report:
    """The period's figures from every card's row (`figures_for`; an `Outline` only for a
    card the period does not count). One pass over the rows counts everything (a year's
    report is 100,000 of them), in microseconds (measures/figures.py)."""
    reviews = reviews or {}
    start, end, now_us = to_us(period.start), to_us(period.end), to_us(now)
    every = _in_order(rows)
    # A card of the period repeats one registered at most REPEAT_WINDOW before it.
    since = start - WINDOW_US
    window = every if every and since <= every[0].registered and every[-1].registered < end \
        else [c for c in every if since <= c.registered < end]  # (a year's: every row)
    repeat = repeats(window, in_order=True)
    spans = list(period.weeks())
    counter = ShareCounter([w.start for w in spans] + [period.end])
    decided_by = counter.of  # priority -> clock -> (met, breached) moments
    by_priority = {p: decided_by(p) for p in PRIORITIES}
    cat: Counter[str] = Counter()  # clocks breached in the period, by category
    values: dict[str, list[int]] = {name: [] for name in DURATIONS}
    found_by_span = [values[name] for name in DURATIONS]  # in the rows' order (SPAN_AT)
    by_cause: Counter[str] = Counter()
    names: dict[str, str] = {}  # the first spelling of a cause names it in the report
    escalations: Counter[str] = Counter()
    depth: Counter[int] = Counter()
    causes = closed = bounced = bounces = reopened = 0
    figures: list[CardFigures] = []
    overdue: list[OverdueReview] = []
    make = CardFigures._make
    for c in every:
        if c.registered >= end:
            continue
        recorded = reviews.get(c.id)
        review = "" if recorded is None and not c.review_owed else review_state_us(
            c.review_owed, c.status != CLOSED, c.closed, recorded, now, now_us)
        if review == "overdue":
            overdue.append(OverdueReview(c.number, c.priority, c.site, c.category, review))
        if c.closed is not None and c.closed < start:
            continue  # nothing of it is decided in the period
        assert isinstance(c, CardFigures), "figures_for gives an outline only to such cards"
        clocks = by_priority.get(c.priority) or decided_by(c.priority)
        for clock, moment, breached in c.decisions:
            clocks[clock][breached].append(moment)
            if breached and start <= moment < end:
                cat[c.category] += 1
        # A card from before the period counts with the durations that ended inside it.
        row: tuple[Any, ...] = c
        pairs = iter(row[_SPANS])  # (µs, end) of each duration, in DURATIONS order
        for found, us, moment in zip(found_by_span, pairs, pairs, strict=True):
            if us is not None and start <= moment < end:
                found.append(us)
        if c.registered < start:
            continue  # the rows and counts are the period's cards
        first = repeat.get(c.id)
        if first:
            f = make((*row[:_REPORT_PART], first[0].number, first[1], review))
        else:  # most rows: not a repeat, and as they come (NOT_COUNTED) when no review
            f = make((*row[:_REPORT_PART], None, "", review)) if review else c
        figures.append(f)
        if f.status == CLOSED:
            closed += 1
            cause = f.recorded_cause
            if cause:
                causes += 1
                if first and first[1] == "cause":
                    by_cause[names.setdefault(cause.casefold(), cause)] += 1
        if f.bounces:
            bounced += 1
            bounces += f.bounces
        reopened += bool(f.reopened)
        if f.escalation:
            escalations[f.escalation] += 1
        depth[f.top_tier] += 1
    weekly = counter.spans({p: (p,) for p in PRIORITIES})
    weeks = tuple(Week(w, {p: s["reaction"][p] + s["recovery"][p] for p in PRIORITIES})
                  for w, s in zip(spans, weekly, strict=True))
    reasons = {r: escalations[r] for r in ("unavailable", "declined", "no answer")}
    return Report(
        period=period, now=now, cards=tuple(figures), breaches=counter.total(ALL_GROUPS),
        durations={name: Stats.of_us(values[name]) for name in DURATIONS},
        reaction_values=tuple(timedelta(microseconds=v) for v in sorted(values["reaction"])),
        weeks=weeks,
        breaches_by_category=dict(cat.most_common()),
        repeats_by_cause=dict(by_cause.most_common()),
        causes_recorded=causes, closed=closed,
        escalated=sum(reasons.values()), escalated_unavailable=reasons["unavailable"],
        escalated_declined=reasons["declined"], depth=dict(sorted(depth.items())),
        bounced_cards=bounced, bounces=bounces, reopened=reopened,
        reviews_overdue=tuple(overdue),
    )
