"""Post-incident reviews (DOMAIN.md, "Statuses": P1 and P2 need a review with one or two
concrete measures). Closing a P1/P2 leaves a review owed; `card.review` records it (a summary,
an owner, a due date and the measures) and `card.review_measure_done` ticks a measure off.

A review is overdue when it is still owed REVIEW_WITHIN after the card closed, or when it is
recorded and a measure is not done by the review's due date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.clock import Clock
from app.errors import TransitionError, ValidationError
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.models.projection import CLOSED, CardState
from app.services.cards.card import Card, Operator
from app.services.cards.service import parse_number
from app.services.measures.period import US, to_us

REVIEW_WITHIN = timedelta(days=7)
REVIEW_WITHIN_US = REVIEW_WITHIN // US
MAX_MEASURES = 3
REVIEWED_PRIORITIES = ("P1", "P2")


@dataclass(frozen=True)
class Measure:
    text: str
    done_at: datetime | None
    done_by: str | None


@dataclass(frozen=True)
class Review:
    summary: str
    owner: str
    due: datetime
    at: datetime
    measures: tuple[Measure, ...]

    @property
    def done(self) -> bool:
        return all(m.done_at is not None for m in self.measures)


def review_of(state: Mapping[str, Any]) -> Review | None:
    r = state.get("review")
    if not r:
        return None
    return Review(
        r["summary"], r["owner"], datetime.fromisoformat(r["due"]),
        datetime.fromisoformat(r["at"]),
        tuple(Measure(m["text"], datetime.fromisoformat(m["done_at"]) if m.get("done_at")
                      else None, m.get("done_by")) for m in r["measures"]))


def reviews_of(states: Iterable[Mapping[str, Any]]) -> dict[str, Review]:
    return {s["id"]: r for s in states if (r := review_of(s)) is not None}


def review_state(card: Card, review: Review | None, now: datetime) -> str:
    """'' (none owed), 'owed', 'overdue', 'recorded' (measures open) or 'done'."""
    closed = None if card.closed_at is None else to_us(card.closed_at)
    return review_state_us(card.review_owed, card.is_open, closed, review, now, to_us(now))


def review_state_us(owed: bool, is_open: bool, closed: int | None, review: Review | None,
                    now: datetime, now_us: int) -> str:
    """`review_state` of a report's row: `closed` and `now_us` in microseconds since the
    epoch (measures/figures.py), `now` the same moment."""
    if review is not None:
        if review.done:
            return "done"
        return "overdue" if now > review.due else "recorded"
    if not owed or is_open or closed is None:
        return ""
    return "overdue" if now_us > closed + REVIEW_WITHIN_US else "owed"


def review_due_day(day: date, tz: ZoneInfo) -> datetime:
    """A due date means the end of that local day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


class ReviewService:
    """Records reviews and ticks their measures off; one journal entry per action."""

    def __init__(self, journal: Journal, clock: Clock, tz: ZoneInfo) -> None:
        self.journal = journal
        self.clock = clock
        self.tz = tz

    def _state(self, number: str) -> CardState:
        return self.journal.card_by_number(parse_number(number))

    def record(self, number: str, summary: str, measures: Sequence[str], owner: str,
               due: date, operator: Operator) -> Review:
        state = self._state(number)
        if state["status"] != CLOSED:
            raise TransitionError(f"card {state['number']} is not closed yet: the review "
                                  "follows the closure")
        if state["priority"] not in REVIEWED_PRIORITIES and not state.get("review_owed"):
            raise ValidationError(f"card {state['number']} is {state['priority']}: reviews "
                                  "are for P1 and P2 cards", field="number")
        summary = summary.strip()
        if not summary:
            raise ValidationError("a review needs a summary (--summary)", field="summary")
        clean = [m.strip() for m in measures if m.strip()]
        if not 1 <= len(clean) <= MAX_MEASURES:
            raise ValidationError(f"give one to {MAX_MEASURES} concrete measures (--measure)",
                                  field="measure")
        if any("\n" in m or len(m) > 300 for m in clean):
            raise ValidationError("a measure is one line of at most 300 characters",
                                  field="measure")
        owner = owner.strip()
        if not owner or "\n" in owner:
            raise ValidationError("name who owns the measures (--owner)", field="owner")
        now = self.clock.now()
        if due < now.astimezone(self.tz).date():
            raise ValidationError(f"the due date {due} has passed; give today or later",
                                  field="due")
        payload = {"summary": summary, "owner": owner, "measures": clean,
                   "due": review_due_day(due, self.tz).isoformat(), "at": now.isoformat()}
        new = self.journal.write_card([NewEntry(state["id"], "card.review", payload)],
                                      operator.name)
        found = review_of(new)
        assert found is not None
        return found

    def measure_done(self, number: str, index: int, operator: Operator) -> Review:
        state = self._state(number)
        review = review_of(state)
        if review is None:
            raise TransitionError(f"card {state['number']} has no review yet; record it "
                                  "with: card review NUMBER --summary ... --measure ...")
        if not 1 <= index <= len(review.measures):
            raise ValidationError(f"the review has measures 1 to {len(review.measures)}",
                                  field="measure")
        if review.measures[index - 1].done_at is not None:
            raise TransitionError(f"measure {index} of {state['number']} is already done")
        payload = {"measure": index, "at": self.clock.now().isoformat()}
        new = self.journal.write_card(
            [NewEntry(state["id"], "card.review_measure_done", payload)], operator.name)
        found = review_of(new)
        assert found is not None
        return found


def review_pending(card: Card, review: Review | None) -> bool:
    """Still to be done: owed, or recorded with a measure open (what a board keeps watching)."""
    if review is not None:
        return not review.done
    return bool(card.review_owed) and not card.is_open


def overdue_reviews(items: Iterable[tuple[Card, Review | None]], now: datetime) -> list[Card]:
    """The cards whose review is overdue, the longest closed first."""
    late = [card for card, review in items if review_state(card, review, now) == "overdue"]
    return sorted(late, key=lambda c: (c.closed_at or now, c.number))
