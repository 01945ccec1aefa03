"""Which SLA clocks were decided in a period, and how: the one definition the report and the
wallboard's "today" both count with.

A reaction or recovery clock is decided when it is met (at the moment it stopped) or breached
(at its deadline); it counts in the period where that moment falls, so a breach at 00:10 is
tomorrow's. A clock still running says nothing yet. The status-update cadence is decided per
deadline: a status message posted by the deadline meets it (and sets the next one: its "next
update at", else the cadence from the message), none by then misses it, once, at the
deadline; the cadence ends when the card is restored or closed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.services.cards.calendar import add_operating_time
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules, SlaPolicy
from app.services.cards.sla import CardClocks, ClockState, _start
from app.services.measures.facts import CardFacts
from app.services.measures.period import to_us

# The clocks a breach share is given for (the update cadence too: "messages on time").
SHARE_CLOCKS = ("reaction", "recovery", "update")
# The two that are a promise to the customer: the wallboard's "SLA met today".
PROMISE_CLOCKS = ("reaction", "recovery")


@dataclass(frozen=True)
class Share:
    breached: int
    decided: int

    @property
    def share(self) -> float | None:
        return self.breached / self.decided if self.decided else None

    @property
    def met(self) -> int:
        return self.decided - self.breached

    def __add__(self, other: Share) -> Share:
        return Share(self.breached + other.breached, self.decided + other.decided)


NO_SHARE = Share(0, 0)


@dataclass(frozen=True)
class Decision:
    clock: str
    at: datetime  # when it was decided
    breached: bool


def decided(clocks: CardClocks) -> list[Decision]:
    """The card's reaction and recovery clocks that are met or breached."""
    out = []
    for clock in (clocks.reaction, clocks.recovery):
        if clock.due is None:
            continue
        if clock.state is ClockState.MET and clock.done_at is not None:
            out.append(Decision(clock.name, clock.done_at, False))
        elif clock.state is ClockState.BREACHED:
            out.append(Decision(clock.name, clock.due, True))
    return out


def update_deadlines(card: Card, facts: CardFacts, rules: DispatchRules, now: datetime,
                     policy: SlaPolicy | None = None) -> list[Decision]:
    """Each status-update deadline the card had, met or missed (see the module docstring).
    `policy`: the card's, where the caller has it already."""
    policy = policy or rules.policy_for(card.category, card.priority, card.kind_of_work)
    spec = policy.updates
    start = _start(card, policy)
    if spec is None or start is None:
        return []
    end = min(now, card.restored_at or card.closed_at or now)
    due = add_operating_time(start, spec.duration, spec.hours)
    out: list[Decision] = []
    for posted, next_at in sorted(facts.messages) if len(facts.messages) > 1 else facts.messages:
        if posted > end:
            break
        if posted < start:
            continue
        out.append(Decision("update", due if posted > due else posted, posted > due))
        due = next_at or add_operating_time(posted, spec.duration, spec.hours)
    if due < end:
        out.append(Decision("update", due, True))
    return out


class Moments(dict[str, tuple[list[int], list[int]]]):
    """One priority's decisions: clock -> (moments met, moments breached), in microseconds."""

    def __missing__(self, clock: str) -> tuple[list[int], list[int]]:
        found: tuple[list[int], list[int]] = ([], [])
        self[clock] = found
        return found


class ShareCounter:
    """Counts (priority, decision) pairs into the spans between consecutive `bounds` (sorted):
    what `shares_by` returns, fed one decision at a time (the report counts as it goes).

    A decision is one integer appended to a list (`of(priority)[clock][breached]`: what a
    year's 300,000 decisions can afford); the spans are counted once, at the end, by
    sorting each list and bisecting it at the bounds."""

    def __init__(self, bounds: Sequence[datetime]) -> None:
        # In microseconds since the epoch, like the report's rows (measures/figures.py).
        self.bounds = [to_us(b) for b in bounds]
        self.moments: dict[str, Moments] = {}
        self._counted: tuple[int, list[dict[tuple[str, str], list[int]]]] | None = None

    def of(self, priority: str) -> Moments:
        found = self.moments.get(priority)
        if found is None:
            found = self.moments[priority] = Moments()
        return found

    def add(self, priority: str, d: Decision) -> None:
        self.add_us(priority, d.clock, to_us(d.at), d.breached)

    def add_us(self, priority: str, clock: str, at: int, breached: bool) -> None:
        """`add` of a decision at `at` microseconds since the epoch."""
        self.of(priority)[clock][breached].append(at)

    @property
    def counts(self) -> list[dict[tuple[str, str], list[int]]]:
        """Per span: (clock, priority) -> [breached, decided]."""
        if self._counted is not None and self._counted[0] == self._size():
            return self._counted[1]
        out: list[dict[tuple[str, str], list[int]]] = [{} for _ in self.bounds[1:]]
        for priority, clocks in self.moments.items():
            for clock, (met, breached) in clocks.items():
                met.sort()
                breached.sort()
                m = [bisect_left(met, b) for b in self.bounds]
                x = [bisect_left(breached, b) for b in self.bounds]
                for i, span in enumerate(out):
                    n_breached, n_met = x[i + 1] - x[i], m[i + 1] - m[i]
                    if n_breached or n_met:
                        span[(clock, priority)] = [n_breached, n_breached + n_met]
        self._counted = (self._size(), out)  # `spans` and `total` both read it
        return out

    def _size(self) -> int:
        return sum(len(m) + len(b) for clocks in self.moments.values()
                   for m, b in clocks.values())

    def spans(self, groups: Mapping[str, Sequence[str]]) -> list[dict[str, dict[str, Share]]]:
        """Per span: clock -> group label -> Share."""
        return [_grouped(span, groups) for span in self.counts]

    def total(self, groups: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Share]]:
        """Over all spans together: clock -> group label -> Share."""
        every: dict[tuple[str, str], list[int]] = {}
        for span in self.counts:
            for key, (breached, decided_) in span.items():
                c = every.setdefault(key, [0, 0])
                c[0] += breached
                c[1] += decided_
        return _grouped(every, groups)


def _grouped(counts: Mapping[tuple[str, str], Sequence[int]],
             groups: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Share]]:
    return {clock: {label: Share(sum(counts.get((clock, p), (0, 0))[0] for p in ps),
                                 sum(counts.get((clock, p), (0, 0))[1] for p in ps))
                    for label, ps in groups.items()}
            for clock in SHARE_CLOCKS}


def shares(decisions: Iterable[tuple[str, Decision]], groups: Mapping[str, Sequence[str]],
           start: datetime, end: datetime) -> dict[str, dict[str, Share]]:
    """clock -> group label -> Share, from (priority, decision) pairs decided in [start, end)."""
    return shares_by(decisions, groups, [start, end])[0]


def shares_by(decisions: Iterable[tuple[str, Decision]], groups: Mapping[str, Sequence[str]],
              bounds: Sequence[datetime]) -> list[dict[str, dict[str, Share]]]:
    """`shares` for each span between consecutive `bounds` (sorted), in one pass."""
    counter = ShareCounter(bounds)
    for priority, d in decisions:
        counter.add(priority, d)
    return counter.spans(groups)
