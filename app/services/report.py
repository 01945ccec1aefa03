"""The weekly report (DOMAIN.md, "Measures"; issue 14): a period's figures from card states and
their entries. Pure: the caller passes the cards, their entries and `now`.

Which cards: those registered in the period (local dates in the site's time zone, the end date
included). Their clocks are read as they stand at `now` (`clocks_for`), and only clocks that
are decided (met or breached) count towards a breach share: a clock still running says
nothing yet. A figure whose fact is missing is None, and reads "not recorded".

What counts as what:
- reaction time is `metrics.reaction_time` (to the first acknowledgement), so the wallboard
  and the report agree; a card nobody acknowledged has none.
- a repeat: a closed card with a recorded closure cause, at the same site, registered within
  REPEAT_WINDOW after an earlier closed card with the same cause (the earlier card may lie
  before the period). "unknown" is not a cause.
- an escalation: the ladder paged tier 2 or later (a `ladder.step` with tier >= 2); the
  ladder only moves on when nobody acknowledged. It happened because the on-call person was
  unavailable when a lower tier has a `ladder.unreachable`, a step that found nobody to page,
  or a `ladder.page_failed` (not an "in doubt" one: that is the desk stopping mid-send);
  otherwise the person was paged and did not answer.
- a bounce: a `card.fields` entry that changed `category` after registration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.models.entry import Entry
from app.services.card import Card
from app.services.metrics import minutes, percentile, reaction_time, recovery_time
from app.services.rules import PRIORITIES, DispatchRules
from app.services.sla import ClockState, SlaClock, clocks_for

REPEAT_WINDOW = timedelta(days=7)
DEFAULT_DAYS = 7
NOT_RECORDED = "not recorded"
# The figures the field reads by priority: P1 on its own, then the rest (DOMAIN.md).
GROUPS: dict[str, tuple[str, ...]] = {"P1": ("P1",), "P2-P4": ("P2", "P3", "P4")}
REPORT_CLOCKS = ("reaction", "recovery")
NO_CAUSE = frozenset({"", "unknown", "n/a", "-"})


@dataclass(frozen=True)
class Period:
    start: datetime  # local midnight of the first day
    end: datetime  # local midnight after the last day (exclusive)
    tz: ZoneInfo

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        return (self.end.astimezone(self.tz) - timedelta(days=1)).date()

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def period_for(
    now: datetime, tz: ZoneInfo, first: date | None = None, last: date | None = None
) -> Period:
    """From `first` to `last` (local dates, both included). Without `last`: today; without
    `first`: the DEFAULT_DAYS days ending on `last`."""
    last = last or now.astimezone(tz).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError(f"the period starts ({first}) after it ends ({last})")
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    return Period(start, end, tz)


@dataclass(frozen=True)
class Share:
    breached: int
    decided: int

    @property
    def share(self) -> float | None:
        return self.breached / self.decided if self.decided else None


@dataclass(frozen=True)
class CardFigures:
    number: str
    priority: str
    kind_of_work: str
    category: str
    site: str
    registered_at: datetime
    reaction: timedelta | None
    reaction_state: str
    recovery: timedelta | None
    recovery_state: str
    cause: str | None
    repeat_of: str | None
    bounces: int
    escalated: bool
    unavailable: bool  # escalated because a lower tier's on-call person was unavailable


@dataclass(frozen=True)
class Report:
    period: Period
    now: datetime
    cards: tuple[CardFigures, ...]
    breaches: Mapping[str, Mapping[str, Share]]  # clock -> P1 / P2-P4 / each priority -> share
    reaction_median: timedelta | None
    reaction_p90: timedelta | None
    reactions: int
    repeats_by_cause: Mapping[str, int]
    causes_recorded: int  # closed cards in the period with a recorded cause
    closed: int
    escalated: int
    escalated_unavailable: int
    bounced_cards: int
    bounces: int

    @property
    def repeats(self) -> tuple[CardFigures, ...]:
        return tuple(c for c in self.cards if c.repeat_of)

    @property
    def classification_accuracy(self) -> float | None:
        """Share of the period's cards whose category was never changed after registration."""
        if not self.cards:
            return None
        return 1 - self.bounced_cards / len(self.cards)


def recorded_cause(card: Card) -> str | None:
    cause = (card.closure or {}).get("cause", "").strip()
    return None if cause.casefold() in NO_CAUSE else cause


def bounces(entries: Sequence[Entry]) -> int:
    """How many times the category changed after registration."""
    current: str | None = None
    count = 0
    for entry in sorted(entries, key=lambda e: e.hlc):
        fields = entry.payload.get("fields") or {}
        if entry.kind == "card.registered":
            current = fields.get("category")
        elif entry.kind == "card.fields" and "category" in fields:
            new = fields["category"]
            if new != current:
                count += 1
            current = new
    return count


def escalation(entries: Sequence[Entry]) -> tuple[bool, bool]:
    """(escalated past tier 1, because a lower tier's on-call person was unavailable)."""
    top = 0
    unavailable: set[int] = set()
    for entry in entries:
        p = entry.payload
        tier = int(p.get("tier") or 0)
        if entry.kind == "ladder.step":
            top = max(top, tier)
            if p.get("unreachable"):
                unavailable.add(tier)
        elif entry.kind == "ladder.unreachable" or (
            entry.kind == "ladder.page_failed" and not p.get("in_doubt")
        ):
            unavailable.add(tier)
    escalated = top >= 2
    return escalated, escalated and any(t < top for t in unavailable)


def repeat_of(closed: Sequence[Card]) -> dict[str, str]:
    """card id -> number of the latest earlier closed card with the same site and cause,
    registered at most REPEAT_WINDOW before it."""
    groups: dict[tuple[str, str], list[Card]] = {}
    for card in closed:
        cause = recorded_cause(card)
        if cause is not None:
            groups.setdefault((card.site.casefold(), cause.casefold()), []).append(card)
    out: dict[str, str] = {}
    for group in groups.values():
        group.sort(key=lambda c: (c.registered_at, c.number))
        for before, card in zip(group, group[1:], strict=False):
            if card.registered_at - before.registered_at <= REPEAT_WINDOW:
                out[card.id] = before.number
    return out


def _decided(clock: SlaClock) -> bool:
    return clock.due is not None and clock.state in (ClockState.MET, ClockState.BREACHED)


def build_report(
    cards: Iterable[Card],
    entries: Mapping[str, Sequence[Entry]],
    rules: DispatchRules,
    period: Period,
    now: datetime,
) -> Report:
    """`cards`: every card the desk has (a repeat may follow a card from before the period);
    `entries`: card id -> entries, needed for the period's cards only."""
    every = list(cards)
    repeats = repeat_of([c for c in every if not c.is_open])
    breached: Counter[tuple[str, str]] = Counter()
    decided: Counter[tuple[str, str]] = Counter()
    figures: list[CardFigures] = []
    for card in sorted((c for c in every if c.registered_at in period),
                       key=lambda c: (c.registered_at, c.number)):
        clocks = clocks_for(card, rules, now)
        for clock in (clocks.reaction, clocks.recovery):
            if _decided(clock):
                decided[(clock.name, card.priority)] += 1
                breached[(clock.name, card.priority)] += clock.state is ClockState.BREACHED
        own = entries.get(card.id, ())
        escalated, unavailable = escalation(own)
        figures.append(CardFigures(
            number=card.number, priority=card.priority, kind_of_work=card.kind_of_work,
            category=card.category, site=card.site, registered_at=card.registered_at,
            reaction=reaction_time(card), reaction_state=clocks.reaction.state.value,
            recovery=recovery_time(card), recovery_state=clocks.recovery.state.value,
            cause=recorded_cause(card) if not card.is_open else None,
            repeat_of=repeats.get(card.id), bounces=bounces(own),
            escalated=escalated, unavailable=unavailable,
        ))
    groups = {**GROUPS, **{p: (p,) for p in PRIORITIES}}
    shares = {
        name: {
            label: Share(sum(breached[(name, p)] for p in ps), sum(decided[(name, p)] for p in ps))
            for label, ps in groups.items()
        }
        for name in REPORT_CLOCKS
    }
    reactions = [f.reaction for f in figures if f.reaction is not None]
    by_cause: Counter[str] = Counter()
    names: dict[str, str] = {}  # the first spelling of a cause names it in the report
    for f in figures:
        if f.repeat_of and f.cause:
            key = f.cause.casefold()
            by_cause[names.setdefault(key, f.cause)] += 1
    return Report(
        period=period,
        now=now,
        cards=tuple(figures),
        breaches=shares,
        reaction_median=percentile(reactions, 0.5),
        reaction_p90=percentile(reactions, 0.9),
        reactions=len(reactions),
        repeats_by_cause=dict(by_cause.most_common()),
        causes_recorded=sum(1 for f in figures if f.cause),
        closed=sum(1 for c in every if c.registered_at in period and not c.is_open),
        escalated=sum(f.escalated for f in figures),
        escalated_unavailable=sum(f.unavailable for f in figures),
        bounced_cards=sum(1 for f in figures if f.bounces),
        bounces=sum(f.bounces for f in figures),
    )


def whole_minutes(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() // 60)


def percent(share: float | None) -> str:
    return NOT_RECORDED if share is None else f"{share * 100:.0f}%"


def share_text(share: Share) -> str:
    if not share.decided:
        return f"{NOT_RECORDED} (no decided clocks)"
    return f"{percent(share.share)} breached ({share.breached} of {share.decided})"


def summary_lines(report: Report) -> list[str]:
    """The report as a person reads it (text, and the PDF's first page)."""
    def dur(delta: timedelta | None) -> str:
        return NOT_RECORDED if delta is None else minutes(delta)

    p = report.period
    lines = [f"Report {p.first_day} to {p.last_day} ({p.tz.key}): {len(report.cards)} cards, "
             f"{report.closed} closed"]
    for name in REPORT_CLOCKS:
        lines.append(f"SLA {name}:")
        lines += [f"  {label:<6} {share_text(s)}" for label, s in report.breaches[name].items()]
    lines.append(f"Reaction time: median {dur(report.reaction_median)}, "
                 f"p90 {dur(report.reaction_p90)} ({report.reactions} acknowledged)")
    if not report.causes_recorded:
        lines.append(f"Repeat incidents within 7 days: {NOT_RECORDED} (no closure cause)")
    else:
        lines.append(f"Repeat incidents within 7 days: {len(report.repeats)} "
                     f"({report.causes_recorded} closed cards with a cause)")
        lines += [f"  {n} x {cause}" for cause, n in report.repeats_by_cause.items()]
        lines += [f"  {f.number} repeats {f.repeat_of} ({f.site}: {f.cause})"
                  for f in report.repeats]
    lines.append(f"Escalated past tier 1: {report.escalated}; because the on-call person was "
                 f"unavailable (unreachable or page failed): {report.escalated_unavailable}; "
                 f"no answer: {report.escalated - report.escalated_unavailable}")
    lines.append(f"Category changed after registration: {report.bounced_cards} cards "
                 f"({report.bounces} changes); classified right first time: "
                 f"{percent(report.classification_accuracy)}")
    return lines


CSV_HEADER = (
    "number", "priority", "kind_of_work", "category", "site", "registered",
    "reaction_min", "reaction", "recovery_min", "recovery", "cause", "repeat_of",
    "category_changes", "escalated", "escalated_unavailable",
)


def csv_rows(report: Report) -> list[list[str]]:
    """One row per card; a missing fact is "not recorded", as in the text."""
    def opt(value: object) -> str:
        return NOT_RECORDED if value is None else str(value)

    return [
        [f.number, f.priority, f.kind_of_work, f.category, f.site,
         f.registered_at.astimezone(report.period.tz).isoformat(timespec="minutes"),
         opt(whole_minutes(f.reaction)), f.reaction_state,
         opt(whole_minutes(f.recovery)), f.recovery_state,
         opt(f.cause), f.repeat_of or "", str(f.bounces),
         "yes" if f.escalated else "no", "yes" if f.unavailable else "no"]
        for f in report.cards
    ]
